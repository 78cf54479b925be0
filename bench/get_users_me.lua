-- GET /users/me with the bearer token from $KESK_BENCH_TOKEN (kept out of wrk's argv).
-- No request() function: wrk builds the request once and reuses it.
wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("KESK_BENCH_TOKEN"), "set KESK_BENCH_TOKEN")
