package sim

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/murmur-fl/murmur/host/agent"
	"github.com/murmur-fl/murmur/sync/client"
	"github.com/murmur-fl/murmur/sync/wire"
)

// DeviceShard returns the local data of device shard (1-based) of n, split
// from the example's training set with o.Partition and o.Seed exactly as a
// simulation with n devices would.
func DeviceShard(o Options, shard, n int) (agent.Dataset, error) {
	if shard < 1 || shard > n {
		return agent.Dataset{}, fmt.Errorf("shard %d of %d: want 1 <= shard <= n", shard, n)
	}
	o.Devices, o.PerRound = n, 1
	if err := o.defaults(); err != nil {
		return agent.Dataset{}, err
	}
	w, err := loadWorld(&o)
	if err != nil {
		return agent.Dataset{}, err
	}
	return w.devices[shard-1], nil
}

// DeviceOptions configures one real device.
type DeviceOptions struct {
	URL, Token, ID string
	Data           agent.Dataset
	State          client.Storage // default: in memory
	Accel          string         // host accelerator for the core ("" = in-guest)
	Seed           uint64
	Flags          uint32 // capability flags reported (wire.CapCharging ...)
	Logger         *slog.Logger
	OnEvent        func(agent.Event)
	OnProgress     func(client.Progress)
}

// RunDevice joins the relay at URL and takes part in rounds until ctx
// ends. The training core comes from the relay, named by the SHA-256 in the
// plan (the download is verified against it), and runs in wazero.
func RunDevice(ctx context.Context, d DeviceOptions) error {
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	c, err := client.New(client.Config{URL: d.URL, Token: d.Token, DeviceID: d.ID, State: d.State,
		Caps:   wire.Capabilities{Platform: runtime.GOOS + "/" + runtime.GOARCH, Accel: d.Accel, MemoryMB: 1024, SpeedClass: 2, Flags: d.Flags},
		Logger: d.Logger, OnProgress: d.OnProgress})
	if err != nil {
		return err
	}
	defer c.Close()
	t, err := c.NextTask(ctx, 0)
	if err != nil {
		return err
	}
	var plan wire.Plan
	if err := json.Unmarshal(t.Plan, &plan); err != nil {
		return fmt.Errorf("round %d plan: %w", t.Round, err)
	}
	var h wire.Hash
	if b, err := hex.DecodeString(plan.Core); err != nil || len(b) != len(h) {
		return fmt.Errorf("round %d plan names no training core (core %q)", t.Round, plan.Core)
	} else {
		copy(h[:], b)
	}
	core, err := c.Download(ctx, h)
	if err != nil {
		return fmt.Errorf("download training core %.12s: %w", plan.Core, err)
	}
	engine, err := NewEngine(ctx, core, d.Accel)
	if err != nil {
		return err
	}
	defer engine.Close(context.Background())
	tr, err := engine.NewCore(ctx)
	if err != nil {
		return err
	}
	if d.Accel != "" {
		if err := tr.UseAccel(ctx, true); err != nil {
			return err
		}
	}
	a, err := agent.New(agent.Config{Client: c, Trainer: tr, Data: d.Data, Seed: d.Seed, State: d.State, OnEvent: d.OnEvent})
	if err != nil {
		return err
	}
	if _, err := a.RunRound(ctx, t); err != nil && ctx.Err() == nil && d.OnEvent != nil {
		d.OnEvent(agent.Event{Round: t.Round, Phase: "dropped", Err: err})
	}
	return a.Run(ctx)
}
