package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/murmur-fl/murmur/sync/relay"
)

func TestHandler(t *testing.T) {
	d := New("test run", "abc123", func() relay.Status { return relay.Status{Round: 3, Stage: "collecting", Sessions: 7} })
	d.Record(Round{Round: 1, Committed: true, TestAccuracy: 0.5})
	d.Record(Round{Round: 2, Committed: false})
	d.Record(Round{Round: 1, Committed: true, TestAccuracy: 0.6}) // replaces round 1
	srv := httptest.NewServer(d.Handler())
	defer srv.Close()

	res, err := http.Get(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `id="plot-acc"`) || !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	res, err = http.Get(srv.URL + "/api/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	var s Snapshot
	if err := json.NewDecoder(res.Body).Decode(&s); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if s.Status.Round != 3 || s.CoreHash != "abc123" || len(s.Rounds) != 2 || s.Rounds[0].TestAccuracy != 0.6 {
		t.Fatalf("snapshot %+v", s)
	}
	if res, _ := http.Get(srv.URL + "/nope"); res.StatusCode != 404 {
		t.Fatalf("unknown path: %d", res.StatusCode)
	}
}
