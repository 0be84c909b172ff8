// Tests set process-wide state ($PDNN_CACHE_DIR, torch seeds); run them one at a time.
[assembly: DoNotParallelize]
