//go:build wasip1

// Command core is the murmur training core as a WASI reactor module: the
// runtime/train session behind the ABI in wasm/ABI.md. Build it with
// `make wasm` (GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared).
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"unsafe"

	"github.com/murmur-fl/murmur/runtime/kernels"
	"github.com/murmur-fl/murmur/runtime/nn"
	"github.com/murmur-fl/murmur/runtime/train"
	"github.com/murmur-fl/murmur/wasm/core/hostaccel"
)

// abiVersion is the version of wasm/ABI.md this core implements.
const abiVersion = 4

// Status codes (wasm/ABI.md, "Error codes").
const (
	statusOK       = 0
	statusABI      = 1
	statusInput    = 2
	statusState    = 3
	statusInternal = 4
)

var (
	ready   bool
	session *train.Session
	lastErr []byte
	blob    []byte
	stats   [8]float32
	// allocs keeps host-owned buffers reachable until free.
	allocs = map[uintptr][]uint64{}
)

func main() {}

// fail records err as the last error and returns its status code.
func fail(code int32, err error) int32 {
	lastErr = []byte(err.Error())
	return code
}

// The core collects garbage only in its set-up exports. Go's collector
// marks in background goroutines, and a reactor module runs no goroutine
// between calls, so a cycle that one export's allocations started would
// stay in its mark phase through later calls until enough allocation
// finished it by assists: meanwhile each pointer write pays a write barrier
// and marking work (measured: 2.3x the guest's time per MLP step, which
// allocates nothing). So collection is off, and the set-up exports switch
// it on while they run (see collecting).
func init() { debug.SetGCPercent(-1) }

// collecting switches collection on for a set-up export and returns the
// switch back off, which waits for a running cycle to finish, so that no
// export returns in the middle of one. Use, after defer guard(&code):
// defer collecting()().
func collecting() func() {
	debug.SetGCPercent(100)
	return func() { debug.SetGCPercent(-1) }
}

// guard turns a panic inside an export into ERR_INTERNAL instead of a trap,
// dropping the kernels recorded for the host but not yet run. The training
// and evaluation exports use it alone: they allocate only when their batch
// buffers grow, and their garbage waits for a set-up call.
func guard(code *int32) {
	if r := recover(); r != nil {
		hostaccel.Discard()
		*code = fail(statusInternal, fmt.Errorf("core panic: %v", r))
	}
}

func codeOf(err error) int32 {
	switch {
	case err == nil:
		return statusOK
	case errors.Is(err, train.ErrState):
		return statusState
	default:
		return statusInput
	}
}

func check(err error) int32 {
	if err == nil {
		return statusOK
	}
	return fail(codeOf(err), err)
}

func needSession() int32 {
	if !ready {
		return fail(statusABI, errors.New("init has not been called"))
	}
	if session == nil {
		return fail(statusState, errors.New("no model loaded (call load_model first)"))
	}
	return statusOK
}

func bytesAt(p unsafe.Pointer, n int32) []byte {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*byte)(p), n)
}

func f32At(p unsafe.Pointer, n int32) []float32 {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*float32)(p), n)
}

func i32At(p unsafe.Pointer, n int32) []int32 {
	if p == nil || n <= 0 {
		return nil
	}
	return unsafe.Slice((*int32)(p), n)
}

//go:wasmexport abi_version
func abiVersionExport() int32 { return abiVersion }

//go:wasmexport init
func initExport(hostABI int32) int32 {
	if hostABI != abiVersion {
		return fail(statusABI, fmt.Errorf("host speaks ABI version %d, this core speaks %d", hostABI, abiVersion))
	}
	ready = true
	return statusOK
}

//go:wasmexport last_error_ptr
func lastErrorPtr() unsafe.Pointer {
	if len(lastErr) == 0 {
		return nil
	}
	return unsafe.Pointer(&lastErr[0])
}

//go:wasmexport last_error_len
func lastErrorLen() int32 { return int32(len(lastErr)) }

//go:wasmexport alloc
func alloc(n int32) (p unsafe.Pointer) {
	var code int32 // a panic returns a nil pointer
	defer guard(&code)
	defer collecting()()
	if n <= 0 {
		return nil
	}
	buf := make([]uint64, (int(n)+7)/8) // 8-byte aligned
	p = unsafe.Pointer(&buf[0])
	allocs[uintptr(p)] = buf
	return p
}

//go:wasmexport free
func free(p unsafe.Pointer) int32 {
	if _, ok := allocs[uintptr(p)]; !ok {
		return fail(statusInput, fmt.Errorf("free of %#x, which alloc did not return", uintptr(p)))
	}
	delete(allocs, uintptr(p))
	return statusOK
}

//go:wasmexport load_model
func loadModel(spec unsafe.Pointer, specBytes int32, seed int64) (code int32) {
	defer guard(&code)
	defer collecting()()
	if !ready {
		return fail(statusABI, errors.New("init has not been called"))
	}
	sp, err := nn.ParseSpec(bytesAt(spec, specBytes))
	if err != nil {
		return fail(statusInput, err)
	}
	s, err := train.New(sp, uint64(seed))
	if err != nil {
		return fail(statusInput, err)
	}
	session = s
	return statusOK
}

//go:wasmexport params_ptr
func paramsPtr() unsafe.Pointer {
	if session == nil || len(session.Params()) == 0 {
		return nil
	}
	return unsafe.Pointer(&session.Params()[0])
}

//go:wasmexport params_len
func paramsLen() int32 {
	if session == nil {
		return 0
	}
	return int32(len(session.Params()))
}

//go:wasmexport layout_json
func layoutJSON() (code int32) {
	defer guard(&code)
	defer collecting()()
	if c := needSession(); c != statusOK {
		return c
	}
	b, err := json.Marshal(session.Model().Layout())
	if err != nil {
		return fail(statusInternal, err)
	}
	blob = b
	return statusOK
}

//go:wasmexport begin_round
func beginRound(opt unsafe.Pointer, optBytes int32) (code int32) {
	defer guard(&code)
	defer collecting()()
	if c := needSession(); c != statusOK {
		return c
	}
	return check(session.BeginRound(bytesAt(opt, optBytes)))
}

//go:wasmexport update_ptr
func updatePtr() unsafe.Pointer {
	if session == nil || len(session.Params()) == 0 {
		return nil
	}
	return unsafe.Pointer(&session.Update()[0])
}

//go:wasmexport set_data
func setData(slot int32, x unsafe.Pointer, xLen int32, tokens unsafe.Pointer, tokensLen int32, labels unsafe.Pointer, n int32) (code int32) {
	defer guard(&code)
	defer collecting()()
	if c := needSession(); c != statusOK {
		return c
	}
	return check(session.SetData(int(slot), f32At(x, xLen), i32At(tokens, tokensLen), i32At(labels, n*int32(session.Model().LabelsPerExample())), int(n)))
}

//go:wasmexport train
func trainExport(steps, batch int32, seed int64) (code int32) {
	defer guard(&code)
	if c := needSession(); c != statusOK {
		return c
	}
	st, err := session.Train(int(steps), int(batch), uint64(seed))
	hostaccel.Flush() // the step's last kernels, before the host reads
	if err != nil {
		return check(err)
	}
	setStats(st)
	return statusOK
}

//go:wasmexport evaluate
func evaluate(slot, batch int32) (code int32) {
	defer guard(&code)
	if c := needSession(); c != statusOK {
		return c
	}
	st, err := session.Evaluate(int(slot), int(batch))
	hostaccel.Flush()
	if err != nil {
		return check(err)
	}
	setStats(st)
	return statusOK
}

func setStats(st train.Stats) {
	stats = [8]float32{st.Loss, st.Accuracy, st.Top3, float32(st.Examples), float32(st.Steps)}
}

//go:wasmexport stats_ptr
func statsPtr() unsafe.Pointer { return unsafe.Pointer(&stats[0]) }

//go:wasmexport checkpoint
func checkpoint() (code int32) {
	defer guard(&code)
	defer collecting()()
	if c := needSession(); c != statusOK {
		return c
	}
	blob = session.Checkpoint()
	return statusOK
}

//go:wasmexport restore
func restore(p unsafe.Pointer, n int32) (code int32) {
	defer guard(&code)
	defer collecting()()
	if c := needSession(); c != statusOK {
		return c
	}
	return check(session.Restore(bytesAt(p, n)))
}

//go:wasmexport blob_ptr
func blobPtr() unsafe.Pointer {
	if len(blob) == 0 {
		return nil
	}
	return unsafe.Pointer(&blob[0])
}

//go:wasmexport blob_len
func blobLen() int32 { return int32(len(blob)) }

// benchHostCalls: see hostaccel.CallHost.
//
//go:wasmexport bench_host_calls
func benchHostCalls(n int32) int32 { return hostaccel.CallHost(n) }

//go:wasmexport use_accel
func useAccel(on int32) int32 {
	hostaccel.Flush()
	if on == 0 {
		kernels.Use(kernels.Portable{})
		return statusOK
	}
	if !hostaccel.Available() {
		return fail(statusState, errors.New("use_accel: the host runs no kernels (it has no accelerator backend)"))
	}
	kernels.Use(&hostaccel.Backend{})
	return statusOK
}
