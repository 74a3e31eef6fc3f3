"""Code both the local agent and the cloud app import: the qbXML core and the wire protocol."""
