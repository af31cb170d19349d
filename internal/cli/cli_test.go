package cli

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
)

func testCmd(got *[]string, n *int, json *bool) *Command {
	return &Command{
		Name: "run", Summary: "runs", Usage: "murmur run [flags]", Examples: []string{"murmur run --n 3"},
		Flags: func(fs *flag.FlagSet) {
			fs.IntVar(n, "n", 1, "count")
			fs.BoolVar(json, "json", false, "json")
		},
		Run: func(env *Env, args []string) error {
			*got = args
			if len(args) > 0 && args[0] == "bad" {
				return errors.Join(ErrUsage, errors.New("bad arg"))
			}
			return nil
		},
	}
}

func run(t *testing.T, envVars map[string]string, args ...string) (int, string, string, []string, int, bool) {
	t.Helper()
	var out, errb bytes.Buffer
	var got []string
	var n int
	var js bool
	env := &Env{Stdout: &out, Stderr: &errb, Getenv: func(k string) string { return envVars[k] }}
	code := Main(env, []*Command{testCmd(&got, &n, &js)}, args)
	return code, out.String(), errb.String(), got, n, js
}

func TestFlagsAfterPositionals(t *testing.T) {
	code, _, _, args, n, js := run(t, nil, "run", "a", "--json", "b", "--n", "5")
	if code != 0 || n != 5 || !js || strings.Join(args, ",") != "a,b" {
		t.Fatalf("code=%d n=%d json=%v args=%v", code, n, js, args)
	}
}

func TestEnvFallbackAndFlagOverride(t *testing.T) {
	_, _, _, _, n, js := run(t, map[string]string{"MURMUR_N": "7", "MURMUR_JSON": "true"}, "run")
	if n != 7 || !js {
		t.Fatalf("env not applied: n=%d json=%v", n, js)
	}
	_, _, _, _, n, _ = run(t, map[string]string{"MURMUR_N": "7"}, "run", "--n", "2")
	if n != 2 {
		t.Fatalf("flag should override env: n=%d", n)
	}
	code, _, stderr, _, _, _ := run(t, map[string]string{"MURMUR_N": "seven"}, "run")
	if code != 2 || !strings.Contains(stderr, "MURMUR_N") {
		t.Fatalf("bad env value: code=%d stderr=%q", code, stderr)
	}
}

func TestHelpAndErrors(t *testing.T) {
	code, out, _, _, _, _ := run(t, nil, "run", "--help")
	if code != 0 || !strings.Contains(out, "murmur run --n 3") || !strings.Contains(out, "MURMUR_JSON") {
		t.Fatalf("help: code=%d out=%q", code, out)
	}
	code, _, stderr, _, _, _ := run(t, nil, "nope")
	if code != 2 || !strings.Contains(stderr, `unknown command "nope"`) {
		t.Fatalf("unknown: code=%d stderr=%q", code, stderr)
	}
	code, _, stderr, _, _, _ = run(t, nil, "run", "bad")
	if code != 2 || !strings.Contains(stderr, "bad arg") {
		t.Fatalf("usage error: code=%d stderr=%q", code, stderr)
	}
}
