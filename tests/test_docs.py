"""Documentation and metadata checks that ansible-test does not make.

* every module, inventory and filter plugin renders with `ansible-doc` from the built collection
  tree (exit 0, non-empty, with EXAMPLES);
* every module that talks to the API (imports plugins/module_utils/client.py, directly or through
  other module_utils) is in meta/runtime.yml's `iotcentral` action group, so one
  `module_defaults: {group/fleetops.iotcentral.iotcentral: ...}` configures them all;
* `antsibull-changelog lint` accepts changelogs/config.yaml and the fragments.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
BUILD_SCRIPT = REPO / "scripts" / "build-collection-tree"
NAMESPACE, NAME = "fleetops", "iotcentral"
COLLECTION = NAMESPACE + "." + NAME
ACTION_GROUP = "iotcentral"
CLIENT_UTIL = "client"
UTILS_PACKAGE = "ansible_collections.%s.%s.plugins.module_utils" % (NAMESPACE, NAME)

# ansible-doc plugin type for each plugin directory this test covers.
PLUGIN_DIRS = {"modules": "module", "inventory": "inventory", "filter": "filter"}


def plugin_files(directory: str) -> list:
    folder = REPO / "plugins" / directory
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob("*.py") if p.name != "__init__.py")


def doc_cases() -> list:
    cases = [pytest.param(directory, path.stem, id="%s/%s" % (directory, path.name))
             for directory in PLUGIN_DIRS for path in plugin_files(directory)]
    # An empty parametrization would report nothing; say explicitly that there was nothing to check.
    return cases or [pytest.param(None, None, id="no-plugins")]


def tool(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if not found:
        pytest.fail("%s is not installed (pip install -r requirements-test.txt)" % name, pytrace=False)
    return found


@pytest.fixture(scope="module")
def collections_path() -> Path:
    proc = subprocess.run([str(BUILD_SCRIPT)], cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, check=False)
    if proc.returncode != 0:
        pytest.fail("scripts/build-collection-tree failed:\n" + proc.stdout, pytrace=False)
    return Path(proc.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def doc_env(collections_path) -> dict:
    env = dict(os.environ)
    env.update(
        PATH=str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        # Only the built tree: neither ~/.ansible/collections nor an installed copy may answer.
        ANSIBLE_COLLECTIONS_PATH=str(collections_path),
        ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="False",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    return env


def run_doc(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([tool("ansible-doc")] + list(args), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=300, check=False)


def describe(proc: subprocess.CompletedProcess) -> str:
    return "$ %s\nexit %d\n--- stdout ---\n%s\n--- stderr ---\n%s" % (" ".join(proc.args), proc.returncode, proc.stdout, proc.stderr)


def plugin_names(env: dict, plugin_type: str, directory: str, stem: str) -> list:
    """FQCNs ansible-doc serves from one file (a filter file can hold several filters)."""
    if plugin_type != "filter":
        return ["%s.%s" % (COLLECTION, stem)]
    proc = run_doc(env, "-t", plugin_type, "--list_files", COLLECTION)
    assert proc.returncode == 0, describe(proc)
    wanted = "plugins/%s/%s.py" % (directory, stem)
    names = []
    for line in proc.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[-1].replace(os.sep, "/").endswith(wanted):
            names.append(parts[0])
    assert names, "ansible-doc finds no filter in %s:\n%s" % (wanted, describe(proc))
    return sorted(names)


@pytest.mark.parametrize("directory, stem", doc_cases())
def test_ansible_doc_renders(doc_env, directory, stem):
    if directory is None:
        pytest.skip("no module, inventory or filter plugins yet")
    plugin_type = PLUGIN_DIRS[directory]
    for fqcn in plugin_names(doc_env, plugin_type, directory, stem):
        text = run_doc(doc_env, "-t", plugin_type, fqcn)
        # ansible-doc exits 0 with only a warning for a plugin it cannot find, hence the output checks.
        assert text.returncode == 0 and text.stdout.strip(), "%s does not render:\n%s" % (fqcn, describe(text))
        assert fqcn in text.stdout, "%s: ansible-doc rendered another plugin:\n%s" % (fqcn, describe(text))
        assert "EXAMPLES:" in text.stdout, "%s has no EXAMPLES:\n%s" % (fqcn, describe(text))

        as_json = run_doc(doc_env, "-t", plugin_type, "--json", fqcn)
        assert as_json.returncode == 0, describe(as_json)
        data = json.loads(as_json.stdout).get(fqcn) or {}
        assert data.get("doc"), "%s: no DOCUMENTATION:\n%s" % (fqcn, describe(as_json))
        examples = data.get("examples")
        assert isinstance(examples, str) and examples.strip(), "%s: EXAMPLES is empty:\n%s" % (fqcn, describe(as_json))
        check_doc_metadata(REPO / "plugins" / directory / ("%s.py" % stem), plugin_type, fqcn, data["doc"])


# Python packages a plugin may need, and the name its `requirements:` entry must start with.
REQUIRED_PACKAGES = {"requests": "requests", "cryptography": "cryptography"}


def check_doc_metadata(path: Path, plugin_type: str, fqcn: str, doc: dict) -> None:
    """`requirements:` names every Python package the plugin needs (the client needs requests); an API module
    documents its action group membership (the `action_group` attribute), a module outside the group does not."""
    requirements = [str(entry) for entry in doc.get("requirements") or []]
    for package, entry in REQUIRED_PACKAGES.items():
        needed = needs_package(path, package) or (package == "requests" and uses_client(path))
        if needed:
            assert any(r.startswith(entry) for r in requirements), (
                "%s needs %s but its documentation's requirements: %s do not name it" % (fqcn, package, requirements))
    if plugin_type != "module":
        return
    group = (doc.get("attributes") or {}).get("action_group")
    if path.stem in action_group_members():
        assert group and "%s.%s" % (COLLECTION, ACTION_GROUP) in (group.get("membership") or []), (
            "%s is in action group %s but does not document it: use the fleetops.iotcentral.attributes fragment"
            % (fqcn, ACTION_GROUP))
    else:
        assert not group, "%s documents an action_group attribute but is not in meta/runtime.yml's group" % fqcn


# --- meta/runtime.yml action group -------------------------------------------------------------

def _util_targets(module: str, names: list) -> list:
    """module_utils names (dotted, relative to module_utils) an import statement may refer to."""
    if module == UTILS_PACKAGE:
        return list(names)
    if module.startswith(UTILS_PACKAGE + "."):
        sub = module[len(UTILS_PACKAGE) + 1:]
        return [sub] + ["%s.%s" % (sub, name) for name in names]
    return []


def util_imports(path: Path) -> set:
    """module_utils (dotted names relative to module_utils) imported by one plugin file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    # Resolve relative imports against the file's package inside the collection.
    package = ["plugins"] + list(path.relative_to(REPO / "plugins").parent.parts)
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.update(_util_targets(alias.name, []))
        elif isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:
                base = package[:len(package) - node.level + 1] if node.level <= len(package) else []
                module = ".".join(["ansible_collections", NAMESPACE, NAME] + base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.update(_util_targets(module, names))
    utils_root = REPO / "plugins" / "module_utils"
    existing = set()
    for name in found:
        rel = Path(*name.split("."))
        if (utils_root / rel).with_suffix(".py").is_file() or (utils_root / rel / "__init__.py").is_file():
            existing.add(name)
    return existing


def reached_sources(path: Path) -> list:
    """The file and every module_utils source it reaches, directly or through other module_utils."""
    utils_root = REPO / "plugins" / "module_utils"
    seen = set()
    sources = [path]
    pending = list(util_imports(path))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        rel = Path(*name.split("."))
        source = (utils_root / rel).with_suffix(".py")
        if not source.is_file():
            source = utils_root / rel / "__init__.py"
        sources.append(source)
        pending.extend(util_imports(source))
    return sources


def uses_client(path: Path) -> bool:
    """True when the file reaches module_utils/client.py, directly or through other module_utils."""
    client = REPO / "plugins" / "module_utils" / (CLIENT_UTIL + ".py")
    return client in reached_sources(path)


def needs_package(path: Path, package: str) -> bool:
    """True when the plugin file imports a (third-party) package or checks its ``HAS_<PACKAGE>`` flag (module_utils
    import optional packages behind such flags; only the plugins that check one need the package)."""
    pattern = re.compile(r"^\s*(?:import|from)\s+%s\b|\bHAS_%s\b" % (re.escape(package), re.escape(package.upper())),
                         re.MULTILINE)
    return bool(pattern.search(path.read_text(encoding="utf-8")))


def action_group_members() -> set:
    runtime = REPO / "meta" / "runtime.yml"
    assert runtime.is_file(), "meta/runtime.yml is missing"
    data = yaml.safe_load(runtime.read_text(encoding="utf-8")) or {}
    group = (data.get("action_groups") or {}).get(ACTION_GROUP)
    assert isinstance(group, list), "meta/runtime.yml has no action_groups.%s list" % ACTION_GROUP
    members = set()
    for entry in group:
        if isinstance(entry, str):
            # Entries may be short names or FQCNs of this collection.
            members.add(entry[len(COLLECTION) + 1:] if entry.startswith(COLLECTION + ".") else entry)
    return members


def module_cases() -> list:
    cases = [pytest.param(path, id=path.stem) for path in plugin_files("modules")]
    return cases or [pytest.param(None, id="no-modules")]


@pytest.mark.parametrize("module_path", module_cases())
def test_api_module_in_action_group(module_path):
    if module_path is None:
        pytest.skip("no modules yet")
    if not uses_client(module_path):
        # module_defaults of the group pass connection options (app, api_token, ...): a module that talks to
        # no API does not accept them and would fail on every task under the group's defaults.
        assert module_path.stem not in action_group_members(), (
            "plugins/modules/%s.py talks to no API, so it must stay out of action_groups.%s"
            % (module_path.stem, ACTION_GROUP))
        return
    assert module_path.stem in action_group_members(), (
        "plugins/modules/%s.py uses module_utils/%s.py but is not in meta/runtime.yml action_groups.%s"
        % (module_path.stem, CLIENT_UTIL, ACTION_GROUP))


def test_action_group_names_existing_modules():
    if not (REPO / "meta" / "runtime.yml").is_file() and not plugin_files("modules"):
        pytest.skip("no meta/runtime.yml and no modules yet")
    modules = {path.stem for path in plugin_files("modules")}
    stale = sorted(action_group_members() - modules)
    assert not stale, "action_groups.%s lists modules that do not exist: %s" % (ACTION_GROUP, ", ".join(stale))


# --- changelog ---------------------------------------------------------------------------------

def test_antsibull_changelog_lint():
    assert (REPO / "changelogs" / "config.yaml").is_file(), "changelogs/config.yaml is missing"
    proc = subprocess.run([tool("antsibull-changelog"), "lint", "-v"], cwd=str(REPO), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    # lint prints one line per problem and still exits 0 on some versions: both must be clean.
    assert proc.returncode == 0 and not proc.stdout.strip(), "antsibull-changelog lint failed:\n" + proc.stdout


def test_changelog_yaml_lint():
    changes = REPO / "changelogs" / "changelog.yaml"
    if not changes.is_file():
        pytest.skip("no changelogs/changelog.yaml")
    proc = subprocess.run([tool("antsibull-changelog"), "lint-changelog-yaml", str(changes)], cwd=str(REPO),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), "changelogs/changelog.yaml is invalid:\n" + proc.stdout


# --- roles ---------------------------------------------------------------------------------------
def role_names() -> list:
    roles = REPO / "roles"
    return sorted(path.parent.parent.name for path in roles.glob("*/meta/argument_specs.yml")) if roles.is_dir() else []


@pytest.mark.parametrize("role", role_names() or [None])
def test_ansible_doc_renders_role(doc_env, role):
    """``ansible-doc -t role`` documents every variable of each role's argument spec."""
    if role is None:
        pytest.skip("no role with meta/argument_specs.yml")
    fqcn = "%s.%s" % (COLLECTION, role)
    text = run_doc(doc_env, "-t", "role", fqcn)
    assert text.returncode == 0 and fqcn in text.stdout, describe(text)
    as_json = run_doc(doc_env, "-t", "role", "--json", fqcn)
    assert as_json.returncode == 0, describe(as_json)
    options = json.loads(as_json.stdout)[fqcn]["entry_points"]["main"]["options"]
    with open(REPO / "roles" / role / "meta" / "argument_specs.yml", encoding="utf-8") as handle:
        declared = yaml.safe_load(handle)["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(declared)
    for name in options:
        assert name in text.stdout, "%s: %s is not in the rendered documentation" % (fqcn, name)


# --- YAML examples: README.md, docs/ and the plugins' EXAMPLES ----------------------------------

# Fenced ```yaml blocks of the guides (docs/docsite/rst is generated by antsibull-docs, not written).
FENCE = re.compile(r"^```(?:yaml|yml)[ \t]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INVENTORY_PLUGIN = COLLECTION + ".devices"


class ExampleLoader(yaml.SafeLoader):  # pylint: disable=too-many-ancestors
    """safe_load plus the `!vault` tag that `ansible-vault encrypt_string` prints."""


ExampleLoader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


def guide_files() -> list:
    docs = sorted(p for p in (REPO / "docs").rglob("*.md") if "docsite" not in p.parts)
    return [REPO / "README.md"] + docs


def plugin_examples(path: Path):
    """The EXAMPLES string of a plugin file, or None."""
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "EXAMPLES" for t in node.targets):
            return ast.literal_eval(node.value)
    return None


def yaml_examples() -> list:
    """(origin, text) of every YAML example a user may copy: guide blocks and plugin EXAMPLES."""
    found = []
    for path in guide_files():
        text = path.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(("%s:%d" % (path.relative_to(REPO), line), match.group(1)))
    for directory in PLUGIN_DIRS:
        for path in plugin_files(directory):
            examples = plugin_examples(path)
            if examples:
                found.append(("%s:EXAMPLES" % path.relative_to(REPO), examples))
    return found


def example_cases() -> list:
    return [pytest.param(origin, text, id=origin) for origin, text in yaml_examples()]


def load_example(text: str) -> list:
    return [doc for doc in yaml.load_all(text, Loader=ExampleLoader) if doc is not None]


@pytest.mark.parametrize("origin, text", example_cases())
def test_yaml_example_parses(origin, text):
    try:
        documents = load_example(text)
    except yaml.YAMLError as exc:
        pytest.fail("%s does not parse as YAML (quote a value holding ': ' or ' #'):\n%s" % (origin, exc), pytrace=False)
    assert documents, "%s is an empty YAML block" % origin


def example_playbook(origin: str, text: str):
    """The example as a playbook file's content for ansible-lint: plays as they are, tasks inside a play;
    None for other YAML (inventory sources, changelog fragments)."""
    documents = load_example(text)
    if len(documents) != 1 or not isinstance(documents[0], list) or not documents[0]:
        return None
    items = documents[0]
    if not all(isinstance(item, dict) for item in items):
        return None
    body = text if text.lstrip().startswith("---") else "---\n" + text
    if all("hosts" in item or "ansible.builtin.import_playbook" in item for item in items):
        return body
    header = "---\n# %s\n- name: Example\n  hosts: localhost\n  gather_facts: false\n  tasks:\n" % origin
    return header + indent_tasks(text)


def indent_tasks(text: str) -> str:
    lines = [line for line in text.splitlines(True) if line.strip() != "---"]
    return "".join(("    " + line) if line.strip() else line for line in lines)


@pytest.mark.sanity
def test_yaml_examples_pass_ansible_lint(tmp_path, collections_path):
    """Every example that is a playbook or a task list passes ansible-lint's production profile."""
    folder = tmp_path / "examples"
    folder.mkdir()
    origins = {}
    for number, (origin, text) in enumerate(yaml_examples()):
        playbook = example_playbook(origin, text)
        if playbook is None:
            continue
        name = "example_%03d.yml" % number
        origins[name] = origin
        (folder / name).write_text(playbook, encoding="utf-8")
    assert origins, "no playbook or task examples found"
    (folder / ".ansible-lint").write_text("---\nprofile: production\noffline: true\n", encoding="utf-8")
    env = dict(os.environ, NO_COLOR="1", PYTHONDONTWRITEBYTECODE="1", ANSIBLE_COLLECTIONS_PATH=str(collections_path),
               PATH=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    env.pop("ANSIBLE_COLLECTIONS_PATHS", None)
    cmd = [tool("ansible-lint"), "--offline", "--profile", "production", "--nocolor", "-c", str(folder / ".ansible-lint"),
           "--project-dir", str(folder)] + sorted(origins)
    proc = subprocess.run(cmd, cwd=str(folder), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=900, check=False)
    report = proc.stdout
    for name, origin in origins.items():
        report = report.replace(name, "%s (%s)" % (name, origin))
    assert proc.returncode == 0, "ansible-lint fails on documentation examples:\n" + report


@pytest.fixture(scope="module")
def inventory_options(doc_env) -> set:
    proc = run_doc(doc_env, "-t", "inventory", "--json", INVENTORY_PLUGIN)
    assert proc.returncode == 0, describe(proc)
    return set(json.loads(proc.stdout)[INVENTORY_PLUGIN]["doc"]["options"])


def inventory_examples() -> list:
    cases = []
    for origin, text in yaml_examples():
        try:
            documents = load_example(text)
        except yaml.YAMLError:
            continue  # test_yaml_example_parses reports it
        for document in documents:
            if isinstance(document, dict) and document.get("plugin") in (INVENTORY_PLUGIN, "devices"):
                cases.append(pytest.param(origin, document, id="%s-%d" % (origin, len(cases))))
    return cases or [pytest.param(None, None, id="no-inventory-examples")]


@pytest.mark.parametrize("origin, source", inventory_examples())
def test_inventory_example_uses_documented_options(origin, source, inventory_options):
    if source is None:
        pytest.skip("no inventory examples")
    unknown = sorted(set(source) - inventory_options)
    assert not unknown, "%s: options the inventory plugin does not have: %s" % (origin, ", ".join(unknown))


# --- antsibull-docs ---------------------------------------------------------------------------


@pytest.mark.sanity
def test_antsibull_docs_lint_collection_docs(collections_path, doc_env):
    """The docsite metadata (docs/docsite/extra-docs.yml, links.yml, rst/) and every plugin's documentation,
    with its semantic markup references (O(), RV(), M(), ...), as antsibull-docs builds the docsite from them."""
    for name in ("extra-docs.yml", "links.yml"):
        assert (REPO / "docs" / "docsite" / name).is_file(), "docs/docsite/%s is missing" % name
    collection = collections_path / "ansible_collections" / NAMESPACE / NAME
    proc = subprocess.run([tool("antsibull-docs"), "lint-collection-docs", "--plugin-docs", str(collection)], env=doc_env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900,
                          check=False)
    assert proc.returncode == 0 and not proc.stdout.strip(), "antsibull-docs lint-collection-docs:\n" + proc.stdout


# Labels of the Ansible docsite (docs.ansible.com) that antsibull-docs' generated pages link to: intersphinx resolves
# them where docs.ansible.com is reachable (our machines reach only PyPI).
ANSIBLE_DOCSITE_LABELS = {"common_return_values", "ansible_configuration_settings"}
UNRESOLVED = re.compile(r"WARNING: (?:undefined label: '(?P<label>[^']+)'|'envvar' reference target not found: (?P<envvar>\S+))")
INTERSPHINX_UNREACHABLE = re.compile(r"WARNING: failed to reach any of the inventories")


def ansible_core_targets() -> tuple:
    """The environment variables ansible-core's configuration defines, and its ansible.builtin module names:
    what the Ansible docsite documents (and the intersphinx inventory of docs.ansible.com has)."""
    import ansible  # pylint: disable=import-outside-toplevel

    root = Path(ansible.__file__).parent
    base = yaml.safe_load((root / "config" / "base.yml").read_text(encoding="utf-8"))
    envvars = {entry["name"] for setting in base.values() for entry in setting.get("env") or []}
    # Plugin options (cache, callback, ...) document their environment variables in the plugins' DOCUMENTATION.
    for path in (root / "plugins").rglob("*.py"):
        envvars.update(re.findall(r"- name: (ANSIBLE_[A-Z0-9_]+)", path.read_text(encoding="utf-8", errors="replace")))
    modules = {path.stem for path in (root / "modules").glob("*.py") if path.stem != "__init__"}
    return envvars, modules


def is_ansible_docsite_target(label: str, envvar: str, envvars: set, modules: set) -> bool:
    if envvar:
        return envvar in envvars
    if label in ANSIBLE_DOCSITE_LABELS:
        return True
    match = re.match(r"^ansible_collections\.ansible\.builtin\.(\w+)_module$", label)
    return bool(match) and match.group(1) in modules


@pytest.mark.sanity
def test_docsite_build_has_no_unresolved_reference(tmp_path, doc_env):
    """The collection's docsite as antsibull-docs makes it (`sphinx-init`, then its build.sh's two steps: the RST of
    every plugin and docs/docsite/, then a nitpicky Sphinx build) builds, and every reference resolves, except links
    into the Ansible docsite (docs.ansible.com, through intersphinx, unreachable offline), which must name something
    ansible-core really has. Sphinx's own theme stands in for sphinx_ansible_theme (it changes no reference)."""
    site = tmp_path / "docsite"
    site.mkdir(mode=0o755)  # antsibull-docs writes only into directories no one else can write to
    init = subprocess.run([tool("antsibull-docs"), "sphinx-init", "--use-current", "--fail-on-error", "--sphinx-theme",
                           "alabaster", "--dest-dir", str(site), COLLECTION], env=doc_env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True, timeout=300, check=False)
    assert init.returncode == 0, "antsibull-docs sphinx-init:\n" + init.stdout
    rst = site / "rst"
    rst.chmod(0o755)  # as build.sh does (chmod og-w rst)
    collection = subprocess.run([tool("antsibull-docs"), "--config-file", str(site / "antsibull-docs.cfg"), "collection",
                                 "--cleanup", "everything", "--fail-on-error", "--use-current", "--dest-dir", str(rst),
                                 COLLECTION], env=doc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                universal_newlines=True, timeout=600, check=False)
    assert collection.returncode == 0, "antsibull-docs collection:\n" + collection.stdout
    warnings = site / "warnings.txt"
    build = subprocess.run([tool("sphinx-build"), "-M", "html", str(rst), str(site / "build"), "-c", str(site), "-q",
                            "-w", str(warnings)], env=doc_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           universal_newlines=True, timeout=600, check=False)
    assert build.returncode == 0, "sphinx-build:\n" + build.stdout
    assert (site / "build" / "html" / "collections" / NAMESPACE / NAME / "index.html").is_file()

    envvars, modules = ansible_core_targets()
    problems = []
    lines = warnings.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        if "WARNING:" not in line:
            # Continuation lines of the intersphinx warning (the hosts it tried) follow it.
            if not any(INTERSPHINX_UNREACHABLE.search(previous) for previous in lines[max(0, number - 2):number]):
                problems.append(line)
            continue
        if INTERSPHINX_UNREACHABLE.search(line):
            continue
        match = UNRESOLVED.search(line)
        if match and is_ansible_docsite_target(match.group("label") or "", match.group("envvar") or "", envvars, modules):
            continue
        problems.append(line)
    assert not problems, "docsite build warnings:\n" + "\n".join(problems)
