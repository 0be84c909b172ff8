// Each test starts its own service; one at a time keeps the 2-core machine's timings out of the answers.
[assembly: DoNotParallelize]
