.PHONY: run test schema check-catalogue bench
run:
	python3 dev.py run
test:
	python3 dev.py test
schema:  # re-compile shared/qbxml/schema.json from Intuit's catalogue (dev-time; needs ../shared/specs)
	.venv/bin/python tools/compile_schema.py ../shared/specs/qbxmlops140.xml shared/qbxml/schema.json
check-catalogue:  # dev-time: builder vs Intuit's catalogue tree and sample requests
	.venv/bin/python tools/check_catalogue.py ../shared/specs
bench:
	.venv/bin/python bench/qbxml_parse.py
