// Package cli is the small command framework behind cmd/murmur: one flag set
// per subcommand, every flag also settable from an environment variable
// (MURMUR_<FLAG>, upper case, dashes as underscores), and --help text with
// copy-paste examples.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// Command is one subcommand of murmur.
type Command struct {
	Name     string
	Summary  string   // one line for the top-level help
	Usage    string   // "murmur bench [suite ...] [flags]"
	Examples []string // shown under --help
	// Flags declares the command's flags on fs.
	Flags func(fs *flag.FlagSet)
	// Run runs the command with the parsed flags' positional arguments.
	Run func(env *Env, args []string) error
}

// Env is what a command sees of the outside world, so tests can run
// commands in-process.
type Env struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// ErrUsage marks an error caused by bad command-line input (exit status 2).
var ErrUsage = errors.New("usage")

// EnvName returns the environment variable that sets flag name.
func EnvName(flagName string) string {
	return "MURMUR_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// Main dispatches args (without the program name) to one of cmds and
// returns the process exit status.
func Main(env *Env, cmds []*Command, args []string) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		topHelp(env.Stdout, cmds)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var cmd *Command
	for _, c := range cmds {
		if c.Name == args[0] {
			cmd = c
		}
	}
	if cmd == nil {
		fmt.Fprintf(env.Stderr, "murmur: unknown command %q\n\n", args[0])
		topHelp(env.Stderr, cmds)
		return 2
	}
	fs := flag.NewFlagSet(cmd.Name, flag.ContinueOnError)
	fs.SetOutput(env.Stderr)
	if cmd.Flags != nil {
		cmd.Flags(fs)
	}
	fs.Usage = func() { commandHelp(env.Stdout, cmd, fs) }
	if err := applyEnv(env, fs); err != nil {
		fmt.Fprintf(env.Stderr, "murmur %s: %v\n", cmd.Name, err)
		return 2
	}
	if err := fs.Parse(interleave(fs, args[1:])); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if err := cmd.Run(env, fs.Args()); err != nil {
		fmt.Fprintf(env.Stderr, "murmur %s: %v\n", cmd.Name, err)
		if errors.Is(err, ErrUsage) {
			return 2
		}
		return 1
	}
	return 0
}

// interleave moves flags that follow positional arguments to the front, so
// `murmur bench train --json` works as users expect.
func interleave(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			pos = append(pos, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			pos = append(pos, a)
			continue
		}
		flags = append(flags, a)
		name := strings.TrimLeft(a, "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
				continue
			}
			if i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
		}
	}
	return append(flags, pos...)
}

func applyEnv(env *Env, fs *flag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || env.Getenv == nil {
			return
		}
		if v := env.Getenv(EnvName(f.Name)); v != "" {
			if e := f.Value.Set(v); e != nil {
				err = fmt.Errorf("environment variable %s=%q: %v", EnvName(f.Name), v, e)
			}
		}
	})
	return err
}

func topHelp(w io.Writer, cmds []*Command) {
	fmt.Fprintln(w, "murmur: federated on-device training (WebAssembly core, secure aggregation, resumable sync)")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Usage: murmur <command> [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	sorted := append([]*Command(nil), cmds...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.Name, c.Summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'murmur <command> --help' for a command's flags and examples.")
	fmt.Fprintln(w, "Every flag can also be set as MURMUR_<FLAG> in the environment (e.g. MURMUR_JSON=true).")
}

func commandHelp(w io.Writer, c *Command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nUsage: %s\n", c.Summary, c.Usage)
	var any bool
	fs.VisitAll(func(*flag.Flag) { any = true })
	if any {
		fmt.Fprintln(w, "\nFlags:")
		fs.VisitAll(func(f *flag.Flag) {
			def := ""
			if f.DefValue != "" && f.DefValue != "false" {
				def = fmt.Sprintf(" (default %s)", f.DefValue)
			}
			fmt.Fprintf(w, "  --%-14s %s%s [env %s]\n", f.Name, f.Usage, def, EnvName(f.Name))
		})
	}
	if len(c.Examples) > 0 {
		fmt.Fprintln(w, "\nExamples:")
		for _, e := range c.Examples {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
}

// OSEnv returns an Env bound to the process's standard streams and environment.
func OSEnv() *Env { return &Env{Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv} }
