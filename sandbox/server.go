package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Server is a tenant listening on a local address.
type Server struct {
	URL          string // base URL, e.g. http://127.0.0.1:41234 (API under URL+"/v3")
	ClientID     string // a client pair the tenant accepts (the first by id)
	ClientSecret string
	Tenant       *Tenant

	srv       *http.Server
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
	stop      func() bool
}

// Start serves a new tenant built from opts on addr ("" means
// 127.0.0.1:0, a free port). The server stops when ctx ends or Close is called.
func Start(ctx context.Context, addr string, opts Options) (*Server, error) {
	return Serve(ctx, addr, New(opts), nil)
}

// Serve is Start for an existing tenant; h, when not nil, wraps it (for
// example a validating handler) and is what the listener serves.
func Serve(ctx context.Context, addr string, t *Tenant, h http.Handler) (*Server, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	if h == nil {
		h = t
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("sandbox: listen on %s: %w", addr, err)
	}
	ids := make([]string, 0, len(t.opts.Clients))
	for id := range t.opts.Clients {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	s := &Server{
		URL:    "http://" + ln.Addr().String(),
		Tenant: t,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 30 * time.Second,
			// Libraries do not print; dropped connections are intended here.
			ErrorLog: log.New(io.Discard, "", 0),
		},
		done: make(chan struct{}),
	}
	if len(ids) > 0 {
		s.ClientID, s.ClientSecret = ids[0], t.opts.Clients[ids[0]]
	}
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(ln)
	}()
	s.stop = context.AfterFunc(ctx, func() { _ = s.Close() })
	return s, nil
}

// Close stops the server at once, dropping open connections, and waits for
// the accept loop to end.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		if s.stop != nil {
			s.stop()
		}
		err := s.srv.Close()
		<-s.done
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.closeErr = fmt.Errorf("sandbox: close: %w", err)
		}
	})
	return s.closeErr
}

// Done is closed when the server has stopped.
func (s *Server) Done() <-chan struct{} { return s.done }
