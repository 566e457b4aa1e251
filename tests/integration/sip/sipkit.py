# SPDX-License-Identifier: GPL-3.0-or-later
"""SIP test kit shared by the sipp, torture and Kamailio tests and the SIP benchmark: run sipp, run Kamailio,
send raw SIP, start resolverd nodes with the SIP server on."""

import csv
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

SIP_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(SIP_DIR))
import harness  # noqa: E402  (tests/integration/harness.py)

KAMAILIO = os.environ.get("KAMAILIO", "kamailio")
SIPP = os.environ.get("SIPP", "sipp")
REALM = "resolverd.test"


def scenario(name):
    """Path of one of the sipp scenario files beside this module."""
    return os.path.join(SIP_DIR, name)


def write_injection(path, rows):
    """A sipp injection file (SEQUENTIAL) with one row per call: user;domain;contact[;more]."""
    with open(path, "w") as f:
        f.write("SEQUENTIAL\n")
        for row in rows:
            f.write(";".join(row) + "\n")
    return path


def auth_field(user, password):
    """The injection field that makes sipp answer a digest challenge."""
    return "[authentication username=%s password=%s]" % (user, password)


class SippResult:
    """A finished sipp run: exit status, output, and the final counters of its statistics file."""

    def __init__(self, argv, rc, out, err, stats, errors):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.stats = stats
        self.errors = errors

    def counter(self, name):
        """A cumulative counter of the last statistics line, e.g. SuccessfulCall, FailedCall, Retransmissions."""
        try:
            return int(self.stats.get(name + "(C)", "0") or 0)
        except ValueError:
            return 0

    @property
    def ok(self):
        return self.rc == 0

    def __repr__(self):
        return ("sipp exit %s, %d ok, %d failed, %d retransmissions\n$ %s\n%s\n%s\n%s"
                % (self.rc, self.counter("SuccessfulCall"), self.counter("FailedCall"),
                   self.counter("Retransmissions"), " ".join(self.argv), self.errors[-3000:],
                   self.err[-1500:], self.out[-1500:]))


def sipp(workdir, scen, port, inf=None, calls=1, transport="u1", keys=None, rate=None, rate_period_ms=1000,
         limit=None, timeout_s=30, extra=(), host="127.0.0.1", tag=None, timeout_error=True):
    """Run sipp as a UAC against host:port until @p calls calls are done; return a SippResult.

    transport: sipp -t (u1 one UDP socket, t1 one TCP connection). keys: -key NAME VALUE pairs the
    scenario uses ([expires]...). rate: calls per rate_period_ms (default 10 cps); limit: most calls
    in flight."""
    tag = tag or "%s-%s-%d" % (os.path.splitext(os.path.basename(scen))[0], transport, time.monotonic_ns())
    errf = os.path.join(workdir, tag + ".errors.log")
    statf = os.path.join(workdir, tag + ".stat.csv")
    argv = [SIPP, "%s:%d" % (host, port), "-sf", scen, "-m", str(calls), "-t", transport,
            "-i", "127.0.0.1", "-p", str(harness.free_port(socket.SOCK_DGRAM if transport[0] == "u"
                                                             else socket.SOCK_STREAM)),
            "-nostdin", "-trace_err", "-error_file", errf, "-trace_stat", "-stf", statf, "-fd", "1",
            "-timeout", "%ds" % timeout_s, "-max_recv_loops", "10000"] + (["-timeout_error"] if timeout_error else [])
    if inf:
        argv += ["-inf", inf]
    for k, v in (keys or {}).items():
        argv += ["-key", k, str(v)]
    if rate is not None:
        argv += ["-r", str(rate), "-rp", str(rate_period_ms)]
    if limit is not None:
        argv += ["-l", str(limit)]
    argv += list(extra)
    try:
        p = subprocess.run(argv, cwd=workdir, capture_output=True, text=True, errors="replace",
                           timeout=timeout_s + 15)
        rc, out, err = p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out, err = "killed after %ds" % (timeout_s + 15), str(e.stdout or ""), str(e.stderr or "")
    res = SippResult(argv, rc, out, err, last_stats(statf), read(errf))
    res.stat_file = statf
    return res


def sipp_uas(workdir, port, contact, calls=1, transport="u1", timeout_s=30, tag="uas", extra=()):
    """Start sipp as the callee (uas_answer.xml) on 127.0.0.1:port, answering @p calls calls whose
    Request-URI is @p contact with 200 OK; returns the Popen (its exit status is 0 once every call
    completed). Stop it with stop_process()."""
    log = open(os.path.join(workdir, tag + ".log"), "ab")
    argv = [SIPP, "-sf", scenario("uas_answer.xml"), "-key", "contact", contact,
            "-i", "127.0.0.1", "-p", str(port), "-t", transport, "-m", str(calls),
            "-nostdin", "-trace_err", "-error_file", os.path.join(workdir, tag + ".errors.log"),
            "-timeout", "%ds" % timeout_s] + list(extra)
    p = subprocess.Popen(argv, cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    log.close()
    return p


def stop_process(p, timeout=5):
    """Terminate a Popen we started (if still running) and reap it; returns its exit status."""
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def read(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def all_stats(path):
    """Every row of a sipp -trace_stat file as dicts (header name -> value), oldest first."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f, delimiter=";"))
    except OSError:
        return []
    return [dict(zip(rows[0], r)) for r in rows[1:]]


def last_stats(path):
    """The last row of a sipp -trace_stat file as a dict (header name -> value)."""
    rows = all_stats(path)
    return rows[-1] if rows else {}


# ---------------------------------------------------------------------------------------------------------
# raw SIP


def options(port, transport="udp", timeout=1.0, host="127.0.0.1"):
    """Send an OPTIONS to the server itself; return the status code of the answer, or None."""
    branch = "z9hG4bK-alive-%d" % time.monotonic_ns()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.bind(("127.0.0.1", 0))
        lport = s.getsockname()[1]
        msg = ("OPTIONS sip:%s:%d SIP/2.0\r\n"
               "Via: SIP/2.0/%s 127.0.0.1:%d;branch=%s\r\n"
               "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=alive\r\nTo: <sip:%s:%d>\r\n"
               "Call-ID: %s@probe\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
               % (host, port, transport.upper(), lport, branch, host, port, branch)).encode()
        try:
            if transport == "udp":
                s.sendto(msg, (host, port))
                data = s.recv(65535)
            else:
                s.connect((host, port))
                s.sendall(msg)
                data = recv_message(s, timeout)
        except OSError:
            return None
    return status_of(data)


def raw_request(port, text, transport="udp", timeout=2.0):
    """Send one request (str; '{via}' is replaced by a Via with rport naming our socket); return the first
    final response (bytes), or b'' when none came."""
    kind = socket.SOCK_DGRAM if transport == "udp" else socket.SOCK_STREAM
    with socket.socket(socket.AF_INET, kind) as s:
        s.settimeout(timeout)
        s.bind(("127.0.0.1", 0))
        via = "Via: SIP/2.0/%s 127.0.0.1:%d;rport;branch=z9hG4bK-raw%d" % (transport.upper(), s.getsockname()[1],
                                                                          time.monotonic_ns())
        data = text.replace("{via}", via).encode()
        deadline = time.time() + timeout
        if transport == "udp":
            s.sendto(data, ("127.0.0.1", port))
        else:
            s.connect(("127.0.0.1", port))
            s.sendall(data)
        while time.time() < deadline:
            try:
                reply = s.recv(65535) if transport == "udp" else recv_message(s, deadline - time.time())
            except OSError:
                return b""
            if (status_of(reply) or 0) >= 200:
                return reply
            if not reply:
                return b""
    return b""


def status_of(data):
    """The status code of a SIP response (bytes), or None when it is not one."""
    m = re.match(rb"SIP/2\.0 (\d{3}) ", data or b"")
    return int(m.group(1)) if m else None


def recv_message(sock, timeout):
    """Read one SIP message from a stream socket (headers plus Content-Length body); b'' on timeout/EOF."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            m = re.search(rb"\r\n(?:Content-Length|l)[ \t]*:[ \t]*(\d+)", buf[:end + 2], re.I)
            need = end + 4 + (int(m.group(1)) if m else 0)
            if len(buf) >= need:
                return buf[:need]
        try:
            chunk = sock.recv(65535)
        except (socket.timeout, OSError):
            return buf
        if not chunk:
            return buf
        buf += chunk
    return buf


def register_text(user, domain, contact, expires, cseq=1, call_id=None, extra=""):
    """A REGISTER for user@domain with one contact; '{via}' is left for raw_request()."""
    return ("REGISTER sip:%s SIP/2.0\r\n{via}\r\nMax-Forwards: 70\r\nFrom: <sip:%s@%s>;tag=raw%d\r\n"
            "To: <sip:%s@%s>\r\nCall-ID: %s\r\nCSeq: %d REGISTER\r\nContact: <%s>\r\nExpires: %d\r\n%s"
            "Content-Length: 0\r\n\r\n" % (domain, user, domain, cseq, user, domain,
                                           call_id or "raw-%s-%d@test" % (user, cseq), cseq, contact, expires,
                                           extra))


def challenges(reply):
    """The WWW-Authenticate challenges of a 401, in order, each as a dict of its parameters (lower-case keys)."""
    out = []
    for m in re.finditer(rb"\r\nWWW-Authenticate[ \t]*:[ \t]*Digest[ \t]+([^\r\n]*)", reply, re.I):
        params = {}
        for k, v in re.findall(r'([A-Za-z-]+)[ \t]*=[ \t]*("[^"]*"|[^, \t]+)', m.group(1).decode()):
            params[k.lower()] = v.strip('"')
        params.setdefault("algorithm", "MD5")
        out.append(params)
    return out


def digest_authorization(ch, user, password, method, uri, cnonce="0a4f113b", nc="00000001"):
    """An Authorization header value answering challenge @p ch (RFC 7616; MD5 or SHA-256, qop auth or none)."""
    algo = ch["algorithm"].upper()
    h = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}[algo]

    def hx(s):
        return h(s.encode()).hexdigest()
    ha1 = hx("%s:%s:%s" % (user, ch["realm"], password))
    ha2 = hx("%s:%s" % (method, uri))
    qops = [q.strip() for q in ch.get("qop", "").split(",") if q.strip()]
    parts = ['username="%s"' % user, 'realm="%s"' % ch["realm"], 'nonce="%s"' % ch["nonce"], 'uri="%s"' % uri,
             "algorithm=%s" % ch["algorithm"]]
    if "auth" in qops:
        resp = hx("%s:%s:%s:%s:auth:%s" % (ha1, ch["nonce"], nc, cnonce, ha2))
        parts += ["qop=auth", "nc=%s" % nc, 'cnonce="%s"' % cnonce]
    else:
        resp = hx("%s:%s:%s" % (ha1, ch["nonce"], ha2))
    parts.append('response="%s"' % resp)
    if "opaque" in ch:
        parts.append('opaque="%s"' % ch["opaque"])
    return "Digest " + ", ".join(parts)


# ---------------------------------------------------------------------------------------------------------
# processes and Kamailio


def rss_kib(pid):
    """VmRSS of a process in KiB (0 when it is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def children_of(pid):
    """Direct children pids of @p pid."""
    try:
        with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Kamailio:
    """One Kamailio in the foreground (-DD -E) from a template in this directory, on a free loopback port."""

    def __init__(self, workdir, name, template, params=None, shm_mb=64):
        self.name = name
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.port = int((params or {}).get("PORT") or harness.free_port())
        self.params = dict(params or {})
        self.params["PORT"] = self.port
        self.params.setdefault("DEBUG", 1)
        self.params.setdefault("CHILDREN", 2)
        self.template = template
        self.shm_mb = shm_mb
        self.cfg = os.path.join(self.dir, "kamailio.cfg")
        self.log_path = os.path.join(self.dir, "kamailio.log")
        self.proc = None

    def render(self):
        with open(os.path.join(SIP_DIR, self.template)) as f:
            text = f.read()
        for k, v in self.params.items():
            text = text.replace("@@%s@@" % k, str(v))
        left = re.findall(r"@@[A-Z_]+@@", text)
        if left:
            raise ValueError("%s: unfilled %s" % (self.template, sorted(set(left))))
        with open(self.cfg, "w") as f:
            f.write(text)

    def start(self):
        self.render()
        check = subprocess.run([KAMAILIO, "-c", "-f", self.cfg], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError("kamailio -c %s failed:\n%s" % (self.cfg, check.stderr[-3000:]))
        pidfile = os.path.join(self.dir, "kamailio.pid")
        if os.path.exists(pidfile):
            os.unlink(pidfile)
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([KAMAILIO, "-f", self.cfg, "-DD", "-E", "-Y", self.dir, "-P", pidfile,
                                      "-m", str(self.shm_mb), "-M", "8"],
                                     stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        if not harness.wait_until(lambda: self.proc.poll() is not None or options(self.port, timeout=0.3), 15, 0.1) \
                or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("%s did not start; log:\n%s" % (self.name, self.log()))
        return self

    def log(self):
        return read(self.log_path)[-6000:]

    def rss_kib(self):
        return rss_kib(self.proc.pid) + sum(rss_kib(c) for c in children_of(self.proc.pid))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            # Kamailio's main process takes its children down on SIGTERM; the session is ours alone.
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.proc = None


def kamailio_registrar(workdir, name, min_expires=60, default_expires=3600, max_expires=7200, max_contacts=10,
                       users=None, realm=REALM, children=2, shm_mb=64):
    """A Kamailio registrar/redirect server with resolverd's semantics (registrar.cfg.in), not started."""
    lines = []
    for user, password in (users or {}).items():
        lines.append('\tif ($tU == "%s") {\n\t\t$var(pw) = "%s";\n\t}' % (user, password))
    return Kamailio(workdir, name, "registrar.cfg.in", dict(
        MIN_EXPIRES=min_expires, DEFAULT_EXPIRES=default_expires, MAX_EXPIRES=max_expires,
        MAX_CONTACTS=max_contacts, USERS="\n".join(lines), REALM=realm, CHILDREN=children), shm_mb=shm_mb)


def kamailio_proxy(workdir, name, redirect_port, redirect_transport="udp", children=2):
    """A Kamailio proxy (proxy.cfg.in) sending every INVITE to the redirect server at 127.0.0.1:redirect_port
    and following its 302; not started."""
    return Kamailio(workdir, name, "proxy.cfg.in", dict(REDIRECT_PORT=redirect_port,
                                                        REDIRECT_TRANSPORT=redirect_transport,
                                                        CHILDREN=children, DEBUG=2))


# ---------------------------------------------------------------------------------------------------------
# resolverd with the SIP server on


def sip_settings(port, min_expires=60, default_expires=3600, max_expires=7200, max_contacts=10, users=None,
                 realm=REALM):
    """--set items turning resolverd's SIP server on at 127.0.0.1:port (UDP and TCP)."""
    sets = ["plugins.sip.listen=127.0.0.1:%d" % port,
            "plugins.sip.min_expires=%d" % min_expires,
            "plugins.sip.default_expires=%d" % default_expires,
            "plugins.sip.max_expires=%d" % max_expires,
            "plugins.sip.max_contacts=%d" % max_contacts]
    if users:
        sets.append("plugins.sip.realm=" + realm)
        for user, password in users.items():
            sets.append("plugins.sip.users.%s.password=%s" % (user, password))
    return sets


def resolverd_sip_node(cls, name, bootstrap=(), extra=(), **sip):
    """A harness.Node (registered with the test class @p cls) whose SIP server listens on a free port;
    node.sip_port holds it. Not started."""
    port = harness.free_port()
    node = cls.node(name, bootstrap=bootstrap, extra=list(sip_settings(port, **sip)) + list(extra))
    node.sip_port = port
    return node


def resolverd_sip_available():
    """None when the resolverd binary has a SIP server that accepts plugins.sip.listen, else the reason."""
    if not os.path.exists(harness.RESOLVERD):
        return "no resolverd binary at %s" % harness.RESOLVERD
    p = subprocess.run([harness.RESOLVERD, "--check-config", os.path.join(harness.SOURCE_ROOT, "etc", "resolverd.yaml"),
                        "--set", "plugins.sip.listen=127.0.0.1:5060"], capture_output=True, text=True)
    if p.returncode != 0:
        return (p.stdout + p.stderr).strip()[-500:]
    return None


def target():
    """Which server the SIP tests drive: 'resolverd' (default) or 'kamailio' (SIP_TARGET=kamailio), the
    latter to prove the scenarios against a reference registrar."""
    t = os.environ.get("SIP_TARGET", "resolverd")
    if t not in ("resolverd", "kamailio"):
        raise ValueError("SIP_TARGET must be resolverd or kamailio")
    return t
