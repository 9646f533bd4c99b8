# The course's two commands (see README.md):
#   make lab    set up (once) and open the course in JupyterLab
#   make test   set up (once) and run every test, notebooks included (in both precisions on a bfloat16 CPU)
# Set-up creates .venv/ with a Python 3.10-3.12 found on the PATH (or PYTHON=/path/to/python3.x).

PYTHON ?= $(shell for p in python3.12 python3.11 python3.10 python3; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] <= (3, 12))' \
	2>/dev/null && echo $$p && break; done)
VENV ?= .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: lab test setup student stage-data benchmarks clean

# Jupyter refuses to run as root unless told; containers and lab machines often are root.
LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)

lab: setup
	$(BIN)/jupyter lab notebooks/ $(LAB_ARGS)

# Every notebook must hold in float32 and in bfloat16. Where this CPU trains in bfloat16, the notebooks first run
# as on a CPU without it (COURSE_CPU_BFLOAT16=0, float32); a failure there stops `make test`. Then every test
# runs as usual, so pytest's closing line covers the whole suite. (Exit status 5: PYTEST_ARGS selected no notebook.)
BF16_CPU = $(BIN)/python -c "from course_utils.runtime import cpu_supports_bfloat16 as has; raise SystemExit(not has())"

test: setup
	@if $(BF16_CPU); then \
		echo "This CPU trains in bfloat16: the notebooks run first in float32 (COURSE_CPU_BFLOAT16=0), then every test."; \
		COURSE_CPU_BFLOAT16=0 $(BIN)/python -m pytest --nbval-lax notebooks -q $(PYTEST_ARGS); status=$$?; \
		if [ $$status -ne 0 ] && [ $$status -ne 5 ]; then \
			echo "The notebooks failed in float32 (COURSE_CPU_BFLOAT16=0): see above."; exit $$status; fi; \
	fi
	$(BIN)/python -m pytest --nbval-lax tests notebooks --durations=25 $(PYTEST_ARGS)

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "The course needs Python 3.10, 3.11 or 3.12 and none was found on the PATH." \
		"Install one, or run: make PYTHON=/path/to/python3.11 $(MAKECMDGOALS)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=23"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $@
	@echo "Set-up done: $(VENV) holds the course's Python environment."

student: setup
	$(BIN)/python tools/make_student_version.py

stage-data: setup
	$(BIN)/python -m course_utils.datasets stage --all

clean:
	rm -rf $(VENV) runs student .pytest_cache
