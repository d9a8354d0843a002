"""A small FastAPI app calling the demo Thrift service through thrift-bridge's AsyncClient."""
