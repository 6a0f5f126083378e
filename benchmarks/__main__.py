"""Run every benchmark: ``python -m benchmarks``."""

from . import bench_ratelimit, bench_upload

print("== sales upload ==")
bench_upload.main()
print("\n== rate limits ==")
bench_ratelimit.main()
