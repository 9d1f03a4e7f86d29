package main

import "net/http"

func newStrictHandler(next http.Handler) http.Handler { return next }
