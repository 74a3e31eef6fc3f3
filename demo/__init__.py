"""The whole product on the simulators: the demo (``python3 dev.py run``) and the benchmarks."""
