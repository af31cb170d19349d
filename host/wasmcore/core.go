package wasmcore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"unsafe"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"

	"github.com/murmur-fl/murmur/host/agent"
)

// Core is one instance of the training core. It implements agent.Trainer.
// It is not safe for concurrent use.
type Core struct {
	e      *Engine
	mod    api.Module
	stderr *tailBuffer
	fns    map[string]api.Function
	closed bool
	// data buffers allocated in the guest per slot, freed on replacement.
	slots [2][]uint32
	// statsAt is where stats_ptr points, fixed for an instance's life
	// (wasm/ABI.md): asked once, it saves an export call per train call.
	statsAt uint32
}

var _ agent.Trainer = (*Core)(nil)

// NewCore instantiates the core and performs the ABI handshake.
func (e *Engine) NewCore(ctx context.Context) (*Core, error) {
	c := &Core{e: e, stderr: &tailBuffer{max: 4096}, fns: map[string]api.Function{}}
	mc := wazero.NewModuleConfig().
		WithName("").
		WithStartFunctions("_initialize").
		WithStderr(c.stderr).
		WithStdout(c.stderr)
	mod, err := e.rt.InstantiateModule(ctx, e.compiled, mc)
	if err != nil {
		return nil, c.classify("_initialize", err)
	}
	c.mod = mod
	v, err := c.call(ctx, "abi_version")
	if err != nil {
		c.Close(ctx)
		return nil, err
	}
	if int32(v) != ABIVersion {
		c.Close(ctx)
		return nil, &CallError{Func: "abi_version", Kind: ErrABIMismatch,
			Detail: fmt.Sprintf("core speaks ABI version %d, this host speaks %d", int32(v), ABIVersion)}
	}
	if err := c.status(ctx, "init", ABIVersion); err != nil {
		c.Close(ctx)
		return nil, err
	}
	return c, nil
}

// MemoryBytes is the instance's current linear memory size.
func (c *Core) MemoryBytes() uint32 {
	if c.closed {
		return 0
	}
	return c.mod.Memory().Size()
}

// UseAccel routes the core's GEMM to the Engine's accelerator (true) or to
// its in-guest kernels (false).
func (c *Core) UseAccel(ctx context.Context, on bool) error {
	if on && c.e.cfg.Accel == nil {
		return errors.New("wasmcore: UseAccel(true) but the engine has no accelerator")
	}
	return c.status(ctx, "use_accel", b2u(on))
}

// Load implements agent.Trainer.
func (c *Core) Load(ctx context.Context, spec []byte, seed uint64) error {
	p, err := c.put(ctx, spec)
	if err != nil {
		return err
	}
	defer c.free(ctx, p)
	for i := range c.slots {
		c.freeSlot(ctx, i)
	}
	return c.status(ctx, "load_model", uint64(p), uint64(len(spec)), seed)
}

// NumParams implements agent.Trainer.
func (c *Core) NumParams() int {
	n, err := c.call(context.Background(), "params_len")
	if err != nil {
		return 0
	}
	return int(int32(n))
}

// BeginRound implements agent.Trainer.
func (c *Core) BeginRound(ctx context.Context, global []float32, opt []byte) error {
	view, err := c.paramsView(ctx)
	if err != nil {
		return err
	}
	if len(global) != len(view) {
		return fmt.Errorf("wasmcore: BeginRound: global has %d parameters, model has %d", len(global), len(view))
	}
	copy(view, global)
	p, err := c.put(ctx, opt)
	if err != nil {
		return err
	}
	defer c.free(ctx, p)
	return c.status(ctx, "begin_round", uint64(p), uint64(len(opt)))
}

// SetData implements agent.Trainer. The examples are copied into guest
// memory once; the core batches them itself.
func (c *Core) SetData(ctx context.Context, slot int, d agent.Dataset) error {
	if slot < 0 || slot > 1 {
		return fmt.Errorf("wasmcore: SetData: slot %d (want 0 or 1)", slot)
	}
	c.freeSlot(ctx, slot)
	xp, err := c.putF32(ctx, d.X)
	if err != nil {
		return err
	}
	tp, err := c.putI32(ctx, d.Tokens)
	if err != nil {
		return err
	}
	lp, err := c.putI32(ctx, d.Labels)
	if err != nil {
		return err
	}
	c.slots[slot] = []uint32{xp, tp, lp}
	return c.status(ctx, "set_data", uint64(slot), uint64(xp), uint64(len(d.X)), uint64(tp), uint64(len(d.Tokens)), uint64(lp), uint64(d.N))
}

// Train implements agent.Trainer.
func (c *Core) Train(ctx context.Context, steps, batch int, seed uint64) (agent.Stats, error) {
	if err := c.status(ctx, "train", uint64(steps), uint64(batch), seed); err != nil {
		return agent.Stats{}, err
	}
	return c.stats(ctx)
}

// Evaluate implements agent.Trainer.
func (c *Core) Evaluate(ctx context.Context, slot, batch int) (agent.Stats, error) {
	if err := c.status(ctx, "evaluate", uint64(slot), uint64(batch)); err != nil {
		return agent.Stats{}, err
	}
	return c.stats(ctx)
}

// Params implements agent.Trainer.
func (c *Core) Params(ctx context.Context, dst []float32) ([]float32, error) {
	view, err := c.paramsView(ctx)
	if err != nil {
		return nil, err
	}
	return append(dst[:0], view...), nil
}

// ParamsView returns the parameter buffer as a slice aliasing guest memory:
// no copy. It is valid until the next call into the core that may allocate.
func (c *Core) ParamsView(ctx context.Context) ([]float32, error) { return c.paramsView(ctx) }

// Update implements agent.Trainer.
func (c *Core) Update(ctx context.Context, dst []float32) ([]float32, error) {
	p, err := c.call(ctx, "update_ptr")
	if err != nil {
		return nil, err
	}
	if p == 0 {
		return nil, c.lastError(ctx, "update_ptr", 3)
	}
	v, err := c.f32(uint32(p), c.NumParams())
	if err != nil {
		return nil, err
	}
	return append(dst[:0], v...), nil
}

// Checkpoint implements agent.Trainer.
func (c *Core) Checkpoint(ctx context.Context) ([]byte, error) {
	if err := c.status(ctx, "checkpoint"); err != nil {
		return nil, err
	}
	return c.blob(ctx)
}

// Restore implements agent.Trainer.
func (c *Core) Restore(ctx context.Context, ckpt []byte) error {
	p, err := c.put(ctx, ckpt)
	if err != nil {
		return err
	}
	defer c.free(ctx, p)
	return c.status(ctx, "restore", uint64(p), uint64(len(ckpt)))
}

// LayoutJSON returns the parameter layout as the core describes it.
func (c *Core) LayoutJSON(ctx context.Context) ([]byte, error) {
	if err := c.status(ctx, "layout_json"); err != nil {
		return nil, err
	}
	return c.blob(ctx)
}

// Close implements agent.Trainer.
func (c *Core) Close(ctx context.Context) error {
	if c.closed {
		return nil
	}
	c.closed = true
	return c.mod.Close(ctx)
}

// --- plumbing ---

func (c *Core) fn(name string) (api.Function, error) {
	if f, ok := c.fns[name]; ok {
		return f, nil
	}
	f := c.mod.ExportedFunction(name)
	if f == nil {
		return nil, &CallError{Func: name, Kind: ErrABIMismatch, Detail: "the core does not export " + name}
	}
	c.fns[name] = f
	return f, nil
}

// call invokes an export under the per-call deadline and classifies failures.
func (c *Core) call(ctx context.Context, name string, args ...uint64) (uint64, error) {
	if c.closed {
		return 0, &CallError{Func: name, Kind: ErrClosed}
	}
	f, err := c.fn(name)
	if err != nil {
		return 0, err
	}
	cctx, cancel := context.WithTimeout(ctx, c.e.cfg.CallTimeout)
	defer cancel()
	c.stderr.Reset()
	res, err := f.Call(cctx, args...)
	if err != nil {
		return 0, c.classify(name, err)
	}
	if len(res) == 0 {
		return 0, nil
	}
	return res[0], nil
}

// status calls an export returning an ABI status code.
func (c *Core) status(ctx context.Context, name string, args ...uint64) error {
	code, err := c.call(ctx, name, args...)
	if err != nil {
		return err
	}
	if int32(code) == 0 {
		return nil
	}
	return c.lastError(ctx, name, int32(code))
}

func (c *Core) lastError(ctx context.Context, name string, code int32) error {
	kind := ErrInternal
	switch code {
	case 1:
		kind = ErrABIMismatch
	case 2:
		kind = ErrInput
	case 3:
		kind = ErrState
	}
	msg := ""
	if p, err := c.call(ctx, "last_error_ptr"); err == nil {
		if n, err := c.call(ctx, "last_error_len"); err == nil {
			if b, ok := c.mod.Memory().Read(uint32(p), uint32(n)); ok {
				msg = string(b)
			}
		}
	}
	return &CallError{Func: name, Kind: kind, Detail: msg}
}

// classify turns a wazero failure into a typed error and marks the
// instance closed (wazero closes a module whose call trapped or timed out).
func (c *Core) classify(name string, err error) error {
	c.closed = true
	if c.mod != nil {
		c.mod.Close(context.Background())
	}
	out := strings.TrimSpace(c.stderr.String())
	ce := &CallError{Func: name, Kind: ErrTrap, Err: err, Detail: out}
	var exit *sys.ExitError
	switch {
	case strings.Contains(out, "out of memory"):
		ce.Kind = ErrOutOfMemory
	case errors.As(err, &exit) && (exit.ExitCode() == sys.ExitCodeDeadlineExceeded || exit.ExitCode() == sys.ExitCodeContextCanceled):
		ce.Kind = ErrDeadline
		ce.Detail = fmt.Sprintf("the call did not finish within its deadline (%v) or its context was cancelled", c.e.cfg.CallTimeout)
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled):
		ce.Kind = ErrDeadline
	}
	if ce.Detail == "" {
		ce.Detail = err.Error()
	}
	return ce
}

func (c *Core) stats(ctx context.Context) (agent.Stats, error) {
	if c.statsAt == 0 {
		p, err := c.call(ctx, "stats_ptr")
		if err != nil {
			return agent.Stats{}, err
		}
		c.statsAt = uint32(p)
	}
	v, err := c.f32(c.statsAt, 8)
	if err != nil {
		return agent.Stats{}, err
	}
	return agent.Stats{Loss: v[0], Accuracy: v[1], Top3: v[2], Examples: int(v[3]), Steps: int(v[4])}, nil
}

func (c *Core) blob(ctx context.Context) ([]byte, error) {
	p, err := c.call(ctx, "blob_ptr")
	if err != nil {
		return nil, err
	}
	n, err := c.call(ctx, "blob_len")
	if err != nil {
		return nil, err
	}
	b, ok := c.mod.Memory().Read(uint32(p), uint32(n))
	if !ok {
		return nil, &CallError{Func: "blob_ptr", Kind: ErrTrap, Detail: "blob outside guest memory"}
	}
	return bytes.Clone(b), nil
}

func (c *Core) paramsView(ctx context.Context) ([]float32, error) {
	p, err := c.call(ctx, "params_ptr")
	if err != nil {
		return nil, err
	}
	if p == 0 {
		return nil, &CallError{Func: "params_ptr", Kind: ErrState, Detail: "no model loaded"}
	}
	return c.f32(uint32(p), c.NumParams())
}

func (c *Core) f32(ptr uint32, n int) ([]float32, error) {
	if n == 0 {
		return nil, nil
	}
	b, ok := c.mod.Memory().Read(ptr, uint32(n*4))
	if !ok || ptr%4 != 0 {
		return nil, &CallError{Func: "memory", Kind: ErrTrap, Detail: fmt.Sprintf("buffer [%d, +%d floats) outside guest memory", ptr, n)}
	}
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), n), nil
}

// put copies b into a fresh guest buffer and returns its offset (0 if b is empty).
func (c *Core) put(ctx context.Context, b []byte) (uint32, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if len(b) > math.MaxInt32 {
		return 0, fmt.Errorf("wasmcore: %d bytes is too large for the core", len(b))
	}
	p, err := c.call(ctx, "alloc", uint64(len(b)))
	if err != nil {
		return 0, err
	}
	if !c.mod.Memory().Write(uint32(p), b) {
		return 0, &CallError{Func: "alloc", Kind: ErrTrap, Detail: "alloc returned a buffer outside guest memory"}
	}
	return uint32(p), nil
}

func (c *Core) putF32(ctx context.Context, v []float32) (uint32, error) {
	if len(v) == 0 {
		return 0, nil
	}
	return c.put(ctx, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4))
}

func (c *Core) putI32(ctx context.Context, v []int32) (uint32, error) {
	if len(v) == 0 {
		return 0, nil
	}
	if !littleEndian {
		return 0, errors.New("wasmcore: big-endian hosts are not supported")
	}
	return c.put(ctx, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4))
}

func (c *Core) free(ctx context.Context, p uint32) {
	if p != 0 && !c.closed {
		c.call(ctx, "free", uint64(p))
	}
}

func (c *Core) freeSlot(ctx context.Context, slot int) {
	for _, p := range c.slots[slot] {
		c.free(ctx, p)
	}
	c.slots[slot] = nil
}

var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// tailBuffer keeps what the guest printed on stderr, to explain a failure:
// the first head bytes (Go prints "fatal error: out of memory" or
// "panic: ..." first, then goroutine dumps) and the last max bytes.
type tailBuffer struct {
	mu   sync.Mutex
	max  int
	head []byte
	buf  []byte
}

const headBytes = 1024

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if room := headBytes - len(t.head); room > 0 {
		t.head = append(t.head, p[:min(room, len(p))]...)
	}
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

// String returns the first lines the guest printed (the cause).
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.SplitN(string(t.head), "\n", 4)
	return strings.Join(lines[:min(3, len(lines))], "\n")
}

func (t *tailBuffer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.head, t.buf = t.head[:0], t.buf[:0]
}

// HostCalls makes the core call the accelerator import n times with empty
// operands (ABI diagnostics), to measure one guest-to-host call.
func (c *Core) HostCalls(ctx context.Context, n int) error {
	_, err := c.call(ctx, "bench_host_calls", uint64(n))
	return err
}
