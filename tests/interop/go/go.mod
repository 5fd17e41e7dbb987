// The Go interop test: generated Go stubs against the running stack
// (tests/interop/test_interop.py runs it).
module github.com/twitter-mesh/twitter-mesh/tests/interop/go

go 1.26.0

replace github.com/twitter-mesh/twitter-mesh/generated/go => ../../../generated/go

require (
	github.com/twitter-mesh/twitter-mesh/generated/go v0.0.0-00010101000000-000000000000
	google.golang.org/genproto/googleapis/rpc v0.0.0-20261110000943-09e21b237f2c
	google.golang.org/grpc v1.85.0
)

require (
	golang.org/x/net v0.60.0 // indirect
	golang.org/x/sys v0.48.0 // indirect
	golang.org/x/text v0.42.0 // indirect
	google.golang.org/genproto/googleapis/api v0.0.0-20261110000943-09e21b237f2c // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
