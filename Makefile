# Recorder: `make run` serves the embedded set-up (`make run PORT=8001` on another port),
# `make test` runs the whole suite, `make test-fast` all but the browser and end-to-end tests.
# Each target sets up what it needs first, so all of them work on a fresh clone.

VENV := .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: run test test-fast lint migrate static worker scheduler clean

run: migrate static
	scripts/run

test: $(VENV)/dev.stamp
	@mkdir -p var
	@scripts/ensure-chromium
	$(PY) -m pytest $(PYTEST_ARGS)

# The inner loop: no browser, no live server, no worker processes.
test-fast: $(VENV)/dev.stamp
	@mkdir -p var
	$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: $(VENV)/dev.stamp
	$(PY) scripts/check-paths
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

migrate: $(VENV)/runtime.stamp
	$(PY) manage.py migrate --noinput

static: $(VENV)/runtime.stamp
	$(PY) manage.py collectstatic --noinput

# One task worker on the queues QUEUE names (comma-separated), of the backend TASKS_BACKEND
# picks. In production run at least one `make worker QUEUE=calls`, which does nothing else
# (Graph drops a call not answered within 15 s), and as many `make worker QUEUE=default` (the
# audio work) as load needs. Without QUEUE one worker takes every queue: enough beside
# `manage.py runserver`, but then a fetch may hold up an answer.
QUEUE ?=
worker: $(VENV)/runtime.stamp
	@queues="$(QUEUE)"; \
	[ -n "$$queues" ] || queues=$$($(PY) -c 'from recorder_site import settings; \
	    print(",".join(settings.TASKS["default"]["QUEUES"]))'); \
	if [ "$$($(PY) -c 'from recorder_site import settings; print(settings.TASKS_BACKEND)')" = rq ]; \
	then exec $(PY) manage.py rqworker $$(echo "$$queues" | tr , ' ') \
	    --job-class django_tasks_rq.Job --with-scheduler; \
	else exec $(PY) manage.py db_worker --queue-name "$$queues"; fi

scheduler: $(VENV)/runtime.stamp
	$(PY) manage.py crontask --no-heartbeat

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The environment is made anew whenever a requirements file changes, so that a package
# dropped from the list is gone too. The stamps record what has been installed into it.
$(VENV)/created: requirements.txt requirements-dev.txt
	rm -rf $(VENV)
	python=$$(scripts/find-python) && "$$python" -m venv $(VENV)
	touch $@

$(VENV)/runtime.stamp: $(VENV)/created
	$(PY) -m pip install --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/dev.stamp: $(VENV)/created
	$(PY) -m pip install --disable-pip-version-check -r requirements-dev.txt
	touch $@
