"""The product demo: the video publisher, both nodes and a recorder in one process on the
bundled video (`graph`), what the run measured (`run`), and its pictures (`render`)."""
