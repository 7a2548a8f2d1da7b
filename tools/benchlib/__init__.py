"""Helpers for tools/bench: pcap generation, DPDK process control, telemetry, stages.

tools/bench is the entry point; see docs/benchmarks.md for what is measured.
"""
