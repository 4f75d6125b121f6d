"""The live dashboard (docs/web.md) in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium) against a real `arrowdaq serve examples/demo.toml`.

Oracles: /api/status for the tables; run.h5 read with h5py and reduced with numpy for the
plot (the page's min/max buckets over the same time grid must equal numpy's min/max of the
stored samples); summary.json sequence numbers for "nothing lost"; raw sockets for requests a
browser would never send (path traversal, huge headers, a client that stops reading).
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import queue
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import arrowdaq_testlib as lib

SOURCE = Path(os.environ.get("ARROWDAQ_SOURCE_DIR", str(Path(__file__).parents[2])))
DEMO = SOURCE / "examples" / "demo.toml"
TOKEN = "dashboard-test-token-0123456789"
# Screenshots go here (ctest runs in build/<preset>/tests/python).
SHOTS = Path(os.environ.get("ARROWDAQ_DASHBOARD_SHOTS", Path.cwd() / "dashboard_py"))
CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")


class Dashboard:
    """`arrowdaq serve` with the dashboard on a free port; url ends with '/'."""

    def __init__(self, tmp_path: Path, *extra: str, config: Path = DEMO):
        self.output = tmp_path / "runs"
        self.proc = subprocess.Popen(
            [lib.ARROWDAQ, "serve", str(config), "--listen", "grpc://127.0.0.1:0",
             "--http-listen", "http://127.0.0.1:0", "--output", str(self.output), *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = queue.Queue()
        threading.Thread(target=lambda: [lines.put(l) for l in self.proc.stdout], daemon=True).start()
        self.url = None
        self.flight = None
        deadline = time.monotonic() + 90
        while self.url is None and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None:
                    raise AssertionError(f"serve exited {self.proc.returncode}: {self.proc.stderr.read()}")
                continue
            m = re.match(r"dashboard on (http://\S+/)", line)
            if m:
                self.url = m.group(1)
            m = re.match(r"listening on (grpc\S+)", line)
            if m:
                self.flight = m.group(1)
        assert self.url, "serve printed no 'dashboard on <url>' line"
        self.host, self.port = re.match(r"http://([^:/]+):(\d+)/", self.url).groups()
        self.port = int(self.port)

    def get(self, path, token=None, cookie=None):
        req = urllib.request.Request(self.url + path.lstrip("/"))
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        if cookie:
            req.add_header("Cookie", cookie)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def post(self, path, body: bytes, content_type="application/json"):
        req = urllib.request.Request(self.url + path.lstrip("/"), data=body, method="POST",
                                     headers={"Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def status(self):
        code, body = self.get("/api/status")
        assert code == 200, body
        return json.loads(body)

    def raw(self, request: bytes, timeout=30) -> bytes:
        """Send bytes as they are; return the whole answer (the connection is closed after)."""
        with socket.create_connection((self.host, self.port), timeout=timeout) as s:
            s.sendall(request)
            s.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                try:
                    c = s.recv(65536)
                except ConnectionResetError:
                    break
                if not c:
                    break
                chunks.append(c)
            return b"".join(chunks)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise AssertionError("serve did not stop within 60 s of SIGTERM")
        assert rc == 0, f"serve exited {rc}: {self.proc.stderr.read()}"


def wait_for(predicate, what, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def dash(tmp_path_factory):
    d = Dashboard(tmp_path_factory.mktemp("dash"))
    yield d
    d.stop()


@pytest.fixture
def browser():
    if not CHROMIUM or not CHROMEDRIVER:
        pytest.skip("chromium and chromium-driver are not installed (scripts/bootstrap.sh installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1280,1700", "--no-first-run", "--disable-extensions"):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def js(driver, script, *args):
    return driver.execute_script(script, *args)


def severe_console(driver):
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


# Each table's rows as {first cell: [cell texts]}, read in one script (the page updates them live).
TABLES = """return Object.fromEntries(['instruments', 'streams', 'recordings'].map(id => [id,
    Object.fromEntries([...document.querySelectorAll('#' + id + ' tbody tr')].map(
        tr => [tr.cells[0].textContent, [...tr.cells].map(td => td.textContent)]))]))"""


def recording(d, rec_id):
    return next(r for r in d.status()["recordings"] if r["id"] == rec_id)


def test_page_tables_plot_and_recording_by_clicking(dash, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    browser.get(dash.url)
    wait_for(lambda: js(browser, "return window.arrowdaq && window.arrowdaq.frames >= 2 && "
                                 "window.arrowdaq.statusFrames >= 1"), "status and plot frames")

    # The tables show what /api/status reports: every instrument with its state, every stream.
    api = dash.status()
    page = js(browser, "return window.arrowdaq.lastStatus")
    tables = js(browser, TABLES)
    for inst in api["instruments"]:
        cells = tables["instruments"][inst["name"]]
        assert cells[0] == inst["name"] and cells[1] == inst["driver"] and cells[2] == inst["state"], cells
    assert [i["state"] for i in api["instruments"]] == ["acquiring"] * 3
    assert [s["name"] for s in page["streams"]] == [s["name"] for s in api["streams"]]
    # The page's status and its table, read in one go (the table follows each status frame).
    page, tables = js(browser, "return [window.arrowdaq.lastStatus, " + TABLES[len("return "):] + "]")
    shown = tables["streams"]
    assert sorted(shown) == sorted(s["name"] for s in api["streams"])
    for s in page["streams"]:
        cells = shown[s["name"]]
        assert cells[2] == s["state"], cells
        rate = s["measured_rate_hz"]
        assert cells[3] == ("-" if rate is None else f"{rate:.1f}"), (cells, rate)
    photodiode = next(s for s in api["streams"] if s["name"] == "photodiode")
    assert photodiode["fields"][1]["unit"] == "V"

    # The sine stream is plotted: a 2 s window, its channel and unit known to the page.
    Select(browser.find_element(By.ID, "plot-stream")).select_by_value("photodiode")
    Select(browser.find_element(By.ID, "plot-window")).select_by_value("2")
    wait_for(lambda: js(browser, "const f = window.arrowdaq.lastFrame; return f && "
                                 "f.stream === 'photodiode' && f.dt_ns * f.pixels <= 2e9"),
             "photodiode frames over 2 s")
    assert js(browser, "return window.arrowdaq.channels") == [{"name": "ch0", "unit": "V"}]
    label = browser.find_element(By.CSS_SELECTOR, "#plot-channels label").text
    assert "ch0 [V]" in label

    # Start a recording by clicking; take a frame whose whole window lies inside it.
    name = browser.find_element(By.ID, "rec-name")
    name.clear()
    name.send_keys("clicked")
    browser.find_element(By.ID, "rec-start").click()
    rec_id = wait_for(lambda: js(browser, "const r = document.querySelector(\"#recordings tr[data-key^='clicked-']\");"
                                          "return r && r.dataset.key"), "the recording's row")
    started_ns = recording(dash, rec_id)["started_ns"]
    frame = wait_for(lambda: js(browser, "const f = window.arrowdaq.lastFrame; return f && "
                                         "f.stream === 'photodiode' && BigInt(f.t0_ns) > BigInt(arguments[0]) "
                                         "? JSON.parse(JSON.stringify(f)) : null", str(started_ns + 500_000_000)),
                     "a frame inside the recording", timeout=90)
    # Pixels: the plot area holds the channel's colour (the curve was drawn).
    drawn = js(browser, """
        const c = document.getElementById('plot-canvas');
        const d = c.getContext('2d').getImageData(60, 10, c.width - 70, c.height - 40).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (Math.abs(d[i] - 0x1f) < 40 && Math.abs(d[i+1] - 0x77) < 40 && Math.abs(d[i+2] - 0xb4) < 40) n++;
        }
        return n;""")
    assert drawn > 500, f"only {drawn} pixels of the curve's colour in the plot area"

    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SHOTS / "dashboard.png"))

    # Stop by clicking its button; the table shows it stopped.
    browser.find_element(By.CSS_SELECTOR, f"button.rec-stop[data-id='{rec_id}']").click()
    wait_for(lambda: recording(dash, rec_id)["state"] == "stopped", "the recording stopped")
    wait_for(lambda: js(browser, "return document.querySelector(arguments[0]) !== null",
                        f"#recordings tr[data-key='{rec_id}'] td.state-stopped"), "the page showing it stopped")
    stopped = recording(dash, rec_id)

    # h5py: the run holds the rows the server counted, an unbroken run of sequence numbers.
    run_dir = Path(stopped["directory"])
    summary = lib.load_summary(run_dir)
    (pd_summary,) = [s for s in summary["streams"] if s["name"] == "photodiode"]
    ts, (values,) = lib.read_hdf5_stream(run_dir, "photodiode", 1)
    assert len(ts) == stopped["rows"]["photodiode"] == pd_summary["rows"] > 0
    assert pd_summary["missing_sequences"] == 0  # ("drops" counts the demo's lossy live view)
    assert pd_summary["rows"] == (pd_summary["last_sequence"] - pd_summary["first_sequence"] + 1) * 500
    assert np.all(np.diff(ts) > 0)

    # The page's buckets equal numpy's min/max of the stored samples on the same grid.
    assert frame["dropped"] == 0, frame["dropped"]
    t0, dt, pixels = int(frame["t0_ns"]), int(frame["dt_ns"]), frame["pixels"]
    assert t0 % dt == 0 and pixels == js(browser, "return document.getElementById('plot-canvas').width") - 70
    last_bucket = (int(frame["last_ns"]) - t0) // dt
    assert last_bucket == pixels - 1
    compared = 0
    for i in range(pixels - 1):  # the newest bucket may still have been filling
        lo, hi = t0 + i * dt, t0 + (i + 1) * dt
        if lo < ts[0] or hi > ts[-1]:
            continue
        sel = values[(ts >= lo) & (ts < hi)]
        assert len(sel) > 0
        assert (frame["min"][0][i], frame["max"][0][i]) == (float(sel.min()), float(sel.max())), i
        compared += 1
    assert compared >= pixels - 2, f"only {compared} of {pixels} buckets inside the recording"

    assert severe_console(browser) == []


def test_token_login_page_and_401(tmp_path, browser):
    from selenium.webdriver.common.by import By
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    d = Dashboard(tmp_path, "--token-file", str(token_file))
    try:
        for path in ("/api/status", "/api/streams", "/api/events", "/api/recordings",
                     "/api/live?stream=photodiode"):
            assert d.get(path)[0] == 401, path
            assert d.get(path, cookie="arrowdaq_token=wrong-token-wrong-token")[0] == 401, path
        assert d.get("/api/status", token=TOKEN)[0] == 200
        assert d.post("/api/recordings", b'{"name": "x"}')[0] == 401
        code, body = d.post("/api/login", json.dumps({"token": "nope-nope-nope-nope"}).encode())
        assert code == 401, body
        # The page itself loads, and asks for the token.
        browser.get(d.url)
        wait_for(lambda: browser.find_element(By.ID, "login").is_displayed(), "the login form")
        assert not browser.find_element(By.ID, "main").is_displayed()
        browser.find_element(By.ID, "login-token").send_keys(TOKEN)
        browser.find_element(By.ID, "login-button").click()
        wait_for(lambda: browser.find_element(By.ID, "main").is_displayed(), "the dashboard after login")
        wait_for(lambda: js(browser, "return window.arrowdaq.statusFrames >= 1"), "live status with the cookie")
        cookie = browser.get_cookie("arrowdaq_token")
        assert cookie and cookie["httpOnly"] and cookie["sameSite"] == "Strict", cookie
        assert js(browser, "return document.cookie") == "", "the token cookie is HttpOnly"
    finally:
        d.stop()


def test_bad_requests_are_refused(dash):
    # Unknown paths and methods.
    for path in ("/nope", "/api/nope", "/index.htm", "/api", "/api/status/x"):
        assert dash.get(path)[0] == 404, path
    # Path traversal, plain and encoded: nothing outside the page's own files.
    for target in ("/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
                   "/..%2f..%2fetc%2fpasswd", "/app.js/../../../etc/passwd", "//etc/passwd",
                   "/%252e%252e/etc/passwd", "/.%2e/.%2e/etc/passwd", "/..\\..\\etc\\passwd",
                   "/api/../../etc/passwd", "/style.css%00.html"):
        answer = dash.raw(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head = answer.split(b"\r\n", 1)[0]
        assert head.split()[1] in (b"400", b"404"), (target, head)
        assert b"root:" not in answer, target
    # Huge headers: refused, and the server goes on serving.
    answer = dash.raw(b"GET /api/status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 200_000 + b"\r\n\r\n")
    assert answer == b"" or answer.split()[1] in (b"400", b"413", b"431"), answer[:100]
    # Endless headers, each short enough: the connection is cut after about 1 MiB, not read on.
    sent = 0
    with socket.create_connection((dash.host, dash.port), timeout=30) as s:
        s.sendall(b"GET /api/status HTTP/1.1\r\nHost: x\r\n")
        line = b"X-A: " + b"b" * 4000 + b"\r\n"
        with pytest.raises(OSError):  # broken pipe or reset once the server closes
            for _ in range(25_000):   # 100 MB
                s.sendall(line)
                sent += len(line)
    assert sent < 20_000_000, f"{sent} bytes of headers accepted"
    assert dash.status()["instruments"]
    # Malformed JSON, wrong content type, cross-origin posts.
    for body in (b"{", b"[]", b'{"name": 3}', b'{"name": "../x"}', b"\xff\xfe", b'{"name": "a", "bogus": 1}'):
        code, answer = dash.post("/api/recordings", body)
        assert code == 400 and "error" in json.loads(answer), (body, code, answer)
    assert dash.post("/api/recordings", b'{"name": "a"}', content_type="text/plain")[0] == 415
    assert dash.post("/api/recordings/stop", b'{"id": "none-such"}')[0] == 404
    req = urllib.request.Request(dash.url + "api/recordings", data=b'{"name": "evil"}', method="POST",
                                 headers={"Content-Type": "application/json", "Origin": "http://evil.example"})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=30)
    assert e.value.code == 403
    # Live channel parameters.
    for q in ("stream=nope", "stream=a/b", "pixels=1&stream=photodiode", "window=0&stream=photodiode",
              "bogus=1", "stream=photodiode&channels=nope"):
        assert dash.get("/api/live?" + q)[0] in (400, 404), q
    assert not any(r["name"] in ("a", "evil") for r in dash.status()["recordings"])


def test_a_stalled_live_client_is_dropped_and_acquisition_loses_nothing(dash):
    before = dash.status()["web"]["dropped_clients"]
    code, rec = dash.post("/api/recordings", b'{"name": "stalled"}')
    assert code == 200, rec
    rec = json.loads(rec)
    # A client that asks for the biggest frames, 20 a second, and never reads a byte.
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect((dash.host, dash.port))
    s.sendall(b"GET /api/live?stream=daq1&pixels=4096&window=1&rate=20 HTTP/1.1\r\nHost: x\r\n\r\n")
    try:
        wait_for(lambda: any("daq1" in c["streams"] for c in dash.status()["web"]["live_clients"]),
                 "the stalled client's channel open")
        wait_for(lambda: dash.status()["web"]["dropped_clients"] > before, "the stalled client dropped",
                 timeout=120)
        assert not any("daq1" in c["streams"] for c in dash.status()["web"]["live_clients"])
    finally:
        s.close()
    code, stopped = dash.post("/api/recordings/stop", json.dumps({"id": rec["id"]}).encode())
    assert code == 200, stopped
    stopped = json.loads(stopped)
    summary = lib.load_summary(Path(stopped["directory"]))
    batch = {"photodiode": 500, "daq1": 2000, "stage": 2}
    for s_ in summary["streams"]:
        if s_["name"] not in batch:
            continue
        assert s_["missing_sequences"] == 0, s_
        assert s_["rows"] == (s_["last_sequence"] - s_["first_sequence"] + 1) * batch[s_["name"]], s_
    ts, chans = lib.read_hdf5_stream(Path(stopped["directory"]), "daq1", 4)
    assert len(ts) == stopped["rows"]["daq1"] > 0


def test_docs_curl_examples_run(dash):
    """docs/web.md's curl block, executed against the server (its URL put in)."""
    if not shutil.which("curl"):
        pytest.skip("curl is not installed (scripts/bootstrap.sh installs it)")
    text = (SOURCE / "docs" / "web.md").read_text()
    blocks = [b for b in re.findall(r"```\n(.*?)```", text, re.S) if b.startswith("curl -s ")]
    assert len(blocks) == 1, blocks
    answers = []
    for line in blocks[0].strip().splitlines():
        r = subprocess.run(["bash", "-c", "set -o pipefail; " + line.replace("http://127.0.0.1:8080/", dash.url)],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, (line, r.stderr)
        answers.append(json.loads(r.stdout))
    status, started, stopped = answers
    assert [i["name"] for i in status["instruments"]] == ["photodiode", "daq1", "stage"]
    assert started["name"] == "scan1" and started["state"] == "recording"
    assert stopped["id"] == started["id"] and stopped["state"] == "stopped"


# examples/scan.toml's stage, power meter and plan, plus a camera larger than the page's image
# area (480 x 360): 1000 x 750 is shown as max-of-3x3 blocks, 334 x 250 (the last column and
# row of blocks partial).
CAMERA = """
[instruments.camera]
driver = "sim.camera"
options = { width = 1000, height = 750, fps = 4, frames_per_batch = 1 }
"""


@pytest.fixture(scope="module")
def scan_dash(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("scandash")
    config = tmp / "scan_camera.toml"
    config.write_text((SOURCE / "examples" / "scan.toml").read_text() + CAMERA)
    d = Dashboard(tmp, config=config)
    assert d.flight, "serve printed no 'listening on <uri>' line"
    yield d
    d.stop()


def block_max(frame: np.ndarray, k: int) -> np.ndarray:
    """numpy's reduction: the max of each k x k block, edge blocks partial."""
    h, w = frame.shape
    rows, cols = -(-h // k), -(-w // k)
    padded = np.full((rows * k, cols * k), np.iinfo(frame.dtype).min, dtype=frame.dtype)
    padded[:h, :w] = frame
    return padded.reshape(rows, k, cols, k).max(axis=(1, 3))


def test_camera_stream_as_an_image_with_a_colour_scale(scan_dash, browser):
    import base64
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    d = scan_dash
    browser.get(d.url)
    wait_for(lambda: js(browser, "return window.arrowdaq && window.arrowdaq.statusFrames >= 1"), "status")
    Select(browser.find_element(By.ID, "plot-stream")).select_by_value("camera")
    wait_for(lambda: js(browser, "const f = window.arrowdaq.lastImage; return f && f.stream === 'camera'"),
             "an image frame of the camera")
    assert js(browser, "return window.arrowdaq.image") == {
        "column": "frame", "unit": "counts", "height": 750, "width": 1000, "dtype": "uint16"}
    assert browser.find_element(By.ID, "image-canvas").is_displayed()

    code, rec = d.post("/api/recordings", json.dumps(
        {"name": "camera", "streams": ["camera"], "formats": ["hdf5"]}).encode())
    assert code == 200, rec
    rec = json.loads(rec)
    frame = wait_for(lambda: js(browser, "const f = window.arrowdaq.lastImage; return f && "
                                         "BigInt(f.t_ns) > BigInt(arguments[0]) ? JSON.parse(JSON.stringify(f)) : null",
                                str(rec["started_ns"] + 500_000_000)), "a frame inside the recording", timeout=90)
    # Pixels: the image area is coloured (not the background), the colour bar too.
    coloured = js(browser, """
        const c = document.getElementById('image-canvas');
        const d = c.getContext('2d').getImageData(10, 10, 480, 360).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (!(d[i] === 255 && d[i+1] === 255 && d[i+2] === 255)) n++;
        const b = c.getContext('2d').getImageData(510, 10, 20, 360).data;
        let m = 0;
        for (let i = 0; i < b.length; i += 4) if (!(b[i] === 255 && b[i+1] === 255 && b[i+2] === 255)) m++;
        return [n, m];""")
    assert coloured[0] >= 0.95 * 480 * 360, coloured  # 334 x 250 drawn 1.437x: 480 x 359
    assert coloured[1] >= 20 * 360 * 0.9, coloured
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.find_element(By.ID, "image-box").screenshot(str(SHOTS / "dashboard-camera.png"))
    wait_for(lambda: js(browser, "return BigInt(window.arrowdaq.lastImage.t_ns) > BigInt(arguments[0])",
                        frame["t_ns"]), "a later frame (the compared one is stored)")
    code, stopped = d.post("/api/recordings/stop", json.dumps({"id": rec["id"]}).encode())
    assert code == 200, stopped
    run_dir = Path(json.loads(stopped)["directory"])

    # The page's frame equals numpy's block max of the stored frame of the same sequence number.
    import h5py
    with h5py.File(run_dir / "run.h5", "r") as f:
        ts = f["camera/timestamp"][:]
        (idx,) = np.nonzero(ts == int(frame["t_ns"]))[0]
        stored = f["camera/frame"][idx]
    (cam,) = [s for s in lib.load_summary(run_dir)["streams"] if s["name"] == "camera"]
    assert cam["missing_sequences"] == 0 and cam["rows"] == len(ts)
    assert idx == frame["sequence"] - cam["first_sequence"] and frame["row"] == 0  # one frame a batch
    assert (frame["block"], frame["rows"], frame["cols"], frame["dtype"]) == (3, 250, 334, "uint16")
    shown = np.frombuffer(base64.b64decode(frame["data"]), dtype="<u2").reshape(250, 334)
    expected = block_max(stored, 3)
    assert np.array_equal(shown, expected), np.argwhere(shown != expected)[:5]
    assert (frame["min"], frame["max"]) == (int(expected.min()), int(expected.max()))
    # The page decodes the same values it coloured.
    decoded = js(browser, "return Array.from(imageValues(arguments[0]).slice(0, 334))", frame)
    assert decoded == expected[0].tolist()
    assert severe_console(browser) == []


def test_scan_progress_and_points_on_the_page(scan_dash, browser):
    import h5py
    import pyarrow.flight as flight
    from selenium.webdriver.common.by import By
    d = scan_dash
    browser.get(d.url)
    wait_for(lambda: js(browser, "return window.arrowdaq && window.arrowdaq.statusFrames >= 1"), "status")
    assert d.status()["scan"] is None and not browser.find_element(By.ID, "scan").is_displayed()
    client = flight.FlightClient(d.flight)
    (answer,) = list(client.do_action(flight.Action("run_plan", b'{"name": "map"}')))
    started = json.loads(answer.body.to_pybytes())
    assert started["state"] == "running" and started["points_total"] == 20
    # The page follows: progress to done 20 / 20, every point received.
    scan = wait_for(lambda: js(browser, "const s = window.arrowdaq.scan; return s && s.id === arguments[0] && "
                                        "s.state === 'done' && s.x.length === 20 ? "
                                        "{x: s.x, y: s.y, axes: s.axes, missing: s.missing} : null",
                               started["recording_id"]), "the scan done on the page", timeout=120)
    assert scan["missing"] == 0
    assert scan["axes"] == {"x": "stage_y", "x_unit": "mm", "y": "power", "y_unit": "W"}
    text = browser.find_element(By.ID, "scan-text").text
    assert "plan map: done, 20 / 20 points (success)" in text, text
    assert js(browser, "const p = document.getElementById('scan-progress'); return [p.value, p.max]") == [20, 20]
    drawn = js(browser, """
        const c = document.getElementById('scan-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] === 0x1f && d[i+1] === 0x77 && d[i+2] === 0xb4) n++;
        return n;""")
    assert drawn > 20 * 25 * 0.5, drawn  # 20 markers of 5 x 5 and the line between them
    # The plotted points are the stored ones: /scan in run.h5, the first detector and motor.
    with h5py.File(Path(started["directory"]) / "run.h5", "r") as f:
        assert f["scan"]["stage_y"][:].tolist() == scan["x"]
        assert f["scan"]["power"][:].tolist() == scan["y"]
    events = [json.loads(l) for l in (Path(started["directory"]) / "documents.jsonl").read_text().splitlines()]
    assert [e["data"]["power"] for n, e in events if n == "event"] == scan["y"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.find_element(By.ID, "scan").screenshot(str(SHOTS / "dashboard-scan.png"))
    assert severe_console(browser) == []
