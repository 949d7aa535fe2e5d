# calico.azure: the two commands users need are `make demo` and `make test`.
# Everything runs from a venv the Makefile creates with the machine's python3.

PYTHON      ?= python3
VENV        := $(CURDIR)/.venv
BIN         := $(VENV)/bin
STAMP       := $(VENV)/.installed
# A collections tree whose calico/azure is this checkout, so ansible finds the
# collection by its FQCN without installing it.
COLLECTIONS := $(CURDIR)/.cache/collections
COLL_LINK   := $(COLLECTIONS)/ansible_collections/calico/azure
PYTEST_ARGS ?=

export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export PATH := $(BIN):$(PATH)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv system-deps collection-link test sanity units integration \
        awx packaging docs-check molecule lint demo bench constraints changelog \
        build clean reuse azcollection-venv peer-clients

help:
	@echo "make demo   - run playbooks/site.yml against the local Azure stand-in"
	@echo "make test   - sanity, unit, integration, molecule and lint"
	@echo "make bench  - benchmarks (ARM reads/writes and wall time tables)"

# --- environment --------------------------------------------------------------

$(STAMP): requirements.txt tests/requirements.txt tests/constraints.txt
	@# Debian's python3 ships venv without ensurepip until python3-venv is installed.
	@$(PYTHON) -c 'import ensurepip' 2>/dev/null || { \
	    echo "$(PYTHON) has no ensurepip: installing Debian's python3-venv"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c tests/constraints.txt \
	    -r requirements.txt -r tests/requirements.txt
	touch $@

venv: $(STAMP)

# Debian packages the tests need (sshd and iproute2 for the multi-host
# molecule scenarios, kubectl to prove the Kubernetes API stand-in). Installed only when missing; needs root, as CI is.
# kubectl: Debian's kubernetes-client, unless another package already provides a
# working kubectl (it would conflict on /usr/bin/kubectl).
SYSTEM_PACKAGES := openssh-server iproute2 util-linux
system-deps:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	kubectl version --client >/dev/null 2>&1 || missing="$$missing kubernetes-client"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The collections calico.azure depends on (galaxy.yml), from the ansible community
# package on PyPI (Galaxy is not reachable here), beside the checkout's link.
DEP_COLLECTIONS := kubernetes.core
DEP_STAMP       := $(COLLECTIONS)/.deps-installed

$(DEP_STAMP): tests/tools/install_collections.py $(STAMP)
	$(BIN)/python tests/tools/install_collections.py --dest $(COLLECTIONS) --cache $(CURDIR)/.cache/wheels $(DEP_COLLECTIONS)
	@touch $@

collection-link: $(DEP_STAMP)
	@mkdir -p $(dir $(COLL_LINK))
	@ln -sfn $(CURDIR) $(COLL_LINK)

# --- tests ----------------------------------------------------------------------

test: sanity units integration awx packaging docs-check reuse changelog molecule lint
	@echo "make test: all suites passed"

# The ansible-core matrix (tests/sanity/run.py's MATRIX): sanity, ansible-test units and
# ansible-lint per core; prints the matrix with each cell's result and time.
sanity: venv collection-link
	$(BIN)/python tests/sanity/run.py

units: venv collection-link
	$(BIN)/python -m pytest -q tests/unit $(PYTEST_ARGS)
	$(BIN)/python tests/sanity/run.py --main-venv --stage units

integration: venv collection-link system-deps
	$(BIN)/python -m pytest -q tests/integration --ignore=tests/integration/peer_clients $(PYTEST_ARGS)

# Clients nobody here wrote against the stand-ins: azure.azcollection's modules (its own venv).
peer-clients: venv collection-link azcollection-venv
	$(BIN)/python -m pytest -q tests/integration/peer_clients $(PYTEST_ARGS)

# azure.azcollection and its pinned SDKs in a venv of their own (.cache/azcollection: they clash
# with the main venv's); tests/integration/peer_clients and the benchmarks run its modules with it.
azcollection-venv: venv
	$(BIN)/python tests/tools/azcollection_venv.py

# An AWX-style job (ansible-runner, private data dir) against the stand-in and SSH test hosts.
awx: venv collection-link system-deps
	$(BIN)/python -m pytest -q tests/awx $(PYTEST_ARGS)

# Galaxy tarball, ansible-doc from the installed tarball, execution-environment metadata.
packaging: venv collection-link
	$(BIN)/python -m pytest -q tests/packaging $(PYTEST_ARGS)

# The docs: every error message in the troubleshooting table, links and names resolve;
# antsibull-docs lints the plugin and role docs as docs.ansible.com would render them.
docs-check: venv collection-link
	$(BIN)/python -m pytest -q tests/docs $(PYTEST_ARGS)
	cd $(COLL_LINK) && $(BIN)/antsibull-docs lint-collection-docs --plugin-docs .

molecule: venv collection-link system-deps
	cd extensions && $(BIN)/molecule test --all

lint: venv collection-link
	$(BIN)/ansible-lint --profile production --offline

# --- running it -----------------------------------------------------------------

demo: venv collection-link system-deps
	$(BIN)/python tests/demo/run_demo.py

bench: venv collection-link
	$(BIN)/python tests/benchmarks/run_all.py

constraints: venv
	{ echo "# Exact versions the test suite last ran with (pip freeze). Regenerate with: make constraints"; \
	  $(BIN)/python -m pip freeze --exclude-editable; } > tests/constraints.txt

# REUSE: every file has a licence and a copyright holder (SPDX headers, else REUSE.toml).
reuse: venv
	$(BIN)/reuse lint --quiet || $(BIN)/reuse lint

changelog: venv
	$(BIN)/antsibull-changelog lint

build: venv
	$(BIN)/ansible-galaxy collection build --force --output-path .cache/dist

clean:
	rm -rf .cache tests/output
