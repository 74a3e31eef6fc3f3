"""qbXML: Intuit's catalogue compiled into a schema, a typed builder and a streaming parser. Pure."""
