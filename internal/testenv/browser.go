package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Browser returns a chromedp context driving a fresh headless Chromium for tb, closed at cleanup.
// Without Chromium the test skips, except under CI=true, where it fails.
func Browser(tb testing.TB) context.Context {
	tb.Helper()
	path := ""
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			path = p
			break
		}
	}
	if path == "" {
		missing(tb, "Chromium")
	}
	// Chromium keeps its singleton socket in a directory of its own under TMPDIR and leaves it
	// behind when it is killed: give it a short-named directory that goes when the test ends.
	tmp, err := os.MkdirTemp("", "chr-")
	if err != nil {
		tb.Fatal(err)
	}
	// SHOP_E2E_WINDOW (e.g. 390x844) sizes the window, to look at the pages as a phone shows them.
	w, h := 1280, 900
	if size := os.Getenv("SHOP_E2E_WINDOW"); size != "" {
		if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil {
			tb.Fatalf("SHOP_E2E_WINDOW %q: want WIDTHxHEIGHT", size)
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.Env("TMPDIR="+tmp),
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.UserDataDir(tb.TempDir()), chromedp.WindowSize(w, h),
		// The machine's network is closed: keep Chromium from trying to phone home.
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	tb.Cleanup(func() { cancel(); cancelAlloc(); _ = os.RemoveAll(tmp) })
	// Start the browser under this context: started under a test's step timeout instead, it would
	// close when that step's time runs out, taking the failure's screenshot with it.
	if err := chromedp.Do(ctx); err != nil {
		tb.Fatal(err)
	}
	// Headless Chromium keeps its window at least 500 pixels wide; the page's viewport is set
	// to the size asked for, as a phone's would be.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		tb.Fatal(err)
	}
	return ctx
}
