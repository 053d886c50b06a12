"""The benchmark lab (``python -m load.lab.bench``): the standard's performance claims, measured side by side."""
