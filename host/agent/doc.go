// Package agent is the device loop: join a relay, download the plan and the
// model, train on local data through a Trainer, encode, mask, upload, and
// resume after any interruption. It is portable (no wazero import) so the
// browser build uses it too.
package agent
