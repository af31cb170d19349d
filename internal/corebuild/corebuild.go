// Package corebuild finds or builds the training core module
// (wasm/core as a wasip1 reactor), for tests, benchmarks and the CLI when
// run from a source checkout.
package corebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
)

// EnvCore names an environment variable pointing at a prebuilt core.
const EnvCore = "MURMUR_CORE"

var (
	once   sync.Once
	cached []byte
	errB   error
)

// Load returns the core module's bytes: the file named by $MURMUR_CORE if
// set, otherwise a fresh build of wasm/core from the enclosing source
// checkout (go's build cache makes a rebuild of unchanged sources quick).
// The result is cached for the process.
func Load(ctx context.Context) ([]byte, error) {
	once.Do(func() { cached, errB = load(ctx) })
	return cached, errB
}

func load(ctx context.Context) ([]byte, error) {
	if p := os.Getenv(EnvCore); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("corebuild: %s=%s: %w", EnvCore, p, err)
		}
		return b, nil
	}
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	out := filepath.Join(os.TempDir(), fmt.Sprintf("murmur-core-%d.wasm", os.Getpid()))
	defer os.Remove(out)
	if err := Build(ctx, root, out); err != nil {
		return nil, err
	}
	return os.ReadFile(out)
}

// Build compiles wasm/core under root into out.
func Build(ctx context.Context, root, out string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("corebuild: no core module: set %s to a built core.wasm (make wasm), or install Go to build it: %w", EnvCore, err)
	}
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildmode=c-shared", "-o", out, "./wasm/core")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("corebuild: go build ./wasm/core: %v\n%s", err, stderr.String())
	}
	return nil
}

// moduleRoot finds the murmur source checkout above the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && bytes.Contains(b, []byte("module github.com/murmur-fl/murmur\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("corebuild: not inside the murmur source tree and " + EnvCore + " is not set: run `make wasm` and set " + EnvCore + "=wasm/core/core.wasm")
		}
		dir = parent
	}
}
