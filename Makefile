.PHONY: run test schema bench
run:
	python3 dev.py run
test:
	python3 dev.py test
schema:  # re-compile shared/qbxml/schema.json from Intuit's qbxmlops140.xml (dev-time)
	.venv/bin/python tools/compile_schema.py ../shared/specs/qbxmlops140.xml shared/qbxml/schema.json
bench:
	.venv/bin/python bench/qbxml_parse.py
