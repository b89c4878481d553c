//! The subprocess oracle: any program that answers queries over its stdin and stdout
//! (protocol in docs/oracles.md).
//!
//! * [`Framing::Text`]: one query per line, d numbers separated by single spaces, each in
//!   Rust's shortest round-trip scientific form (`{:e}`, e.g. `-1.2345e-1`), so the program
//!   receives the exact `f64`; one answer per line back, any text that parses as a finite
//!   `f64` (leading and trailing blanks ignored).
//! * [`Framing::Binary`]: each query is d little-endian IEEE-754 `f64` (8·d bytes, no
//!   separator); each answer is one little-endian `f64` (8 bytes).
//!
//! Answers come back in query order. A batch is pipelined: a writer thread sends the whole
//! batch while this thread reads the answers, so no batch size can deadlock as long as the
//! program answers each query without waiting for the next one (it must flush its output
//! whenever it is about to wait for input; per answer is simplest).
//!
//! Failures (the program exits or closes its output early, an answer that is not a number,
//! NaN or infinity, no answer within the optional timeout) are [`OracleError`]s naming the
//! query's index in the batch, with the exit status and the tail of the program's stderr
//! where known. After a failure the stream is out of step, so the program is stopped and
//! every later query is an error.
//!
//! On Unix the program runs in a process group of its own, and stopping it kills the whole
//! group, so a shell wrapper's children (`sh -c "python3 model.py"`) cannot keep the pipes
//! open and hang the caller.

use crate::{Oracle, OracleError, check_points};
use nnid_linalg::Mat;
use std::collections::VecDeque;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How queries and answers are encoded on the pipes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Framing {
    /// One query per line (d numbers separated by spaces), one answer per line.
    #[default]
    Text,
    /// d little-endian `f64` per query, one little-endian `f64` per answer.
    Binary,
}

/// Bytes written to the program's stdin per `write` call.
const CHUNK: usize = 1 << 16;
/// How much of the program's stderr is kept for error messages.
const STDERR_KEEP: usize = 4096;
/// How long to wait for a program that closed its output to exit (for its exit status).
const EXIT_GRACE: Duration = Duration::from_secs(2);

/// An [`Oracle`] served by a child process (see the module docs for the protocol).
///
/// The process is started by the constructor and stopped when the oracle is dropped (its
/// stdin is closed, then it is killed if it has not exited within a second). Batches are
/// served one at a time. The query counter counts the points actually written to the
/// program (all of them when the batch succeeds).
#[derive(Debug)]
pub struct SubprocessOracle {
    label: String,
    d: usize,
    framing: Framing,
    timeout: Option<Duration>,
    count: AtomicU64,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<BufReader<ChildStdout>>,
    stderr: Arc<Mutex<VecDeque<u8>>>,
    stderr_reader: Option<JoinHandle<()>>,
    /// Why the oracle cannot be used any more, once it cannot.
    broken: Option<String>,
}

impl SubprocessOracle {
    /// Starts `sh -c command_line` as an oracle on R^d (text framing until
    /// [`SubprocessOracle::with_framing`] says otherwise).
    ///
    /// # Errors
    /// [`OracleError::Process`] if `d = 0` or the shell cannot be started. (A command the
    /// shell cannot find shows up at the first query, with the shell's message.)
    pub fn spawn_shell(command_line: &str, d: usize) -> Result<Self, OracleError> {
        let mut cmd = Command::new("sh");
        cmd.arg("-c").arg(command_line);
        Self::from_command(cmd, command_line.to_string(), d)
    }

    /// Starts `program` with `args` (no shell) as an oracle on R^d.
    ///
    /// # Errors
    /// [`OracleError::Process`] if `d = 0` or the program cannot be started.
    pub fn spawn<I, S>(program: impl AsRef<OsStr>, args: I, d: usize) -> Result<Self, OracleError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut cmd = Command::new(program.as_ref());
        let mut label = program.as_ref().to_string_lossy().into_owned();
        for a in args {
            label.push(' ');
            label.push_str(&a.as_ref().to_string_lossy());
            cmd.arg(a);
        }
        Self::from_command(cmd, label, d)
    }

    /// Starts a prepared [`Command`] as an oracle on R^d (its stdin, stdout and stderr are
    /// replaced by pipes); `label` names it in error messages.
    ///
    /// # Errors
    /// [`OracleError::Process`] if `d = 0` or the program cannot be started.
    pub fn from_command(mut cmd: Command, label: String, d: usize) -> Result<Self, OracleError> {
        if d == 0 {
            return Err(OracleError::Process {
                command: label,
                reason: "the input dimension must be at least 1".into(),
            });
        }
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let mut child = cmd.spawn().map_err(|e| OracleError::Process {
            command: label.clone(),
            reason: format!("cannot start: {e}"),
        })?;
        let (Some(stdin), Some(stdout), Some(mut err_pipe)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            // Cannot happen: all three were set to `piped` above.
            kill_tree(&mut child);
            let _ = child.wait();
            return Err(OracleError::Process {
                command: label,
                reason: "pipes were not created".into(),
            });
        };
        let stderr = Arc::new(Mutex::new(VecDeque::new()));
        let tail = Arc::clone(&stderr);
        let stderr_reader = std::thread::Builder::new()
            .name("oracle-stderr".into())
            .spawn(move || {
                let mut buf = [0u8; 4096];
                while let Ok(k) = err_pipe.read(&mut buf) {
                    if k == 0 {
                        break;
                    }
                    let mut t = tail.lock().unwrap_or_else(PoisonError::into_inner);
                    t.extend(&buf[..k]);
                    let excess = t.len().saturating_sub(STDERR_KEEP);
                    t.drain(..excess);
                }
            })
            .map_err(|e| OracleError::Process {
                command: label.clone(),
                reason: format!("cannot start a thread: {e}"),
            })?;
        let state = State {
            child,
            stdin: Some(stdin),
            stdout: Some(BufReader::with_capacity(CHUNK, stdout)),
            stderr,
            stderr_reader: Some(stderr_reader),
            broken: None,
        };
        Ok(Self {
            label,
            d,
            framing: Framing::Text,
            timeout: None,
            count: AtomicU64::new(0),
            state: Mutex::new(state),
        })
    }

    /// Gives up on a batch (with [`OracleError::Timeout`], stopping the program) when no
    /// answer arrives for `limit`; `None` (the default) waits for ever. A program that buffers
    /// its output without flushing looks exactly like one that hangs, so a timeout turns that
    /// mistake into an error message instead of a silent wait.
    #[must_use]
    pub fn with_timeout(mut self, limit: Option<Duration>) -> Self {
        self.timeout = limit;
        self
    }

    /// Sets how queries and answers are encoded (default [`Framing::Text`]); the program
    /// must expect the same.
    #[must_use]
    pub fn with_framing(mut self, framing: Framing) -> Self {
        self.framing = framing;
        self
    }

    /// The command (as given) that serves this oracle.
    pub fn command(&self) -> &str {
        &self.label
    }

    /// The framing in use.
    pub fn framing(&self) -> Framing {
        self.framing
    }

    fn process_error(&self, reason: String) -> OracleError {
        OracleError::Process {
            command: self.label.clone(),
            reason,
        }
    }
}

/// Why reading the answers stopped.
enum ReadFailure {
    /// End of output (or a read error) before answer `index`.
    Ended {
        index: usize,
        partial: Option<String>,
    },
    /// A failure of the answer itself.
    Answer(OracleError),
    /// No answer within the timeout.
    Timeout { index: usize },
    /// All answers arrived but the program did not read all queries.
    Unread,
}

impl Oracle for SubprocessOracle {
    fn input_dim(&self) -> usize {
        self.d
    }

    fn query(&self, points: &Mat) -> Result<Vec<f64>, OracleError> {
        check_points(points, self.d)?;
        let n = points.ncols();
        if n == 0 {
            return Ok(Vec::new());
        }
        let mut guard = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let st = &mut *guard;
        if let Some(reason) = &st.broken {
            return Err(
                self.process_error(format!("not usable after an earlier failure ({reason})"))
            );
        }
        let (Some(stdin), Some(stdout)) = (st.stdin.as_mut(), st.stdout.as_mut()) else {
            return Err(self.process_error("the pipes to the program are closed".into()));
        };
        if !stdout.buffer().is_empty() {
            let extra: String = String::from_utf8_lossy(stdout.buffer())
                .chars()
                .take(60)
                .collect();
            let reason = format!(
                "the program sent output nobody asked for: `{}`",
                extra.trim()
            );
            st.broken = Some(reason.clone());
            self.stop(st);
            return Err(self.process_error(reason));
        }
        let (framing, timeout) = (self.framing, self.timeout);
        let (values, failure, sent, status) = std::thread::scope(|s| {
            let writer = s.spawn(move || write_batch(stdin, points, framing));
            let (tx, rx) = mpsc::channel();
            s.spawn(move || read_batch(stdout, n, framing, &tx));
            let mut values = Vec::with_capacity(n);
            let failure = loop {
                if values.len() == n {
                    break None;
                }
                let next = match timeout {
                    Some(t) => rx.recv_timeout(t),
                    None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
                };
                let index = values.len();
                match next {
                    Ok(Ok(v)) => values.push(v),
                    Ok(Err(f)) => break Some(f),
                    Err(RecvTimeoutError::Timeout) => break Some(ReadFailure::Timeout { index }),
                    Err(RecvTimeoutError::Disconnected) => {
                        break Some(ReadFailure::Ended {
                            index,
                            partial: None,
                        });
                    }
                }
            };
            // On failure the program is out of step or gone: a program that closed its output
            // gets a moment to exit (for its exit status), then the whole process group is
            // stopped, which closes the pipes and so ends the reader and writer threads.
            let mut status = None;
            let mut failure = failure;
            if let Some(f) = &failure {
                if matches!(f, ReadFailure::Ended { .. }) {
                    status = wait_for_exit(&mut st.child, EXIT_GRACE);
                }
                kill_tree(&mut st.child);
            } else if !finishes_within(&writer, EXIT_GRACE) {
                // Every answer is in, yet the program does not take the rest of the batch:
                // it answers without reading its queries. Stop it, or the writer never ends.
                kill_tree(&mut st.child);
                failure = Some(ReadFailure::Unread);
            }
            let sent = writer.join().unwrap_or(0);
            (values, failure, sent, status)
        });
        self.count
            .fetch_add(sent.max(values.len()) as u64, Ordering::Relaxed);
        let Some(failure) = failure else {
            return Ok(values);
        };
        let err = match failure {
            ReadFailure::Answer(err) => err,
            ReadFailure::Unread => self.process_error(format!(
                "answered all {n} queries of the batch without reading them all (the program must read each query before answering it)"
            )),
            ReadFailure::Timeout { index } => OracleError::Timeout {
                index,
                seconds: timeout.map_or(0.0, |t| t.as_secs_f64()),
            },
            ReadFailure::Ended { index, partial } => {
                let mut detail = match status {
                    Some(s) => format!("the program ended with {s}"),
                    None => {
                        "the program closed its output but kept running; stopped it".to_string()
                    }
                };
                if let Some(p) = partial {
                    detail.push_str(&format!("; its output ended inside an answer ({p})"));
                }
                self.stop(st);
                let tail = stderr_tail(st);
                if !tail.is_empty() {
                    detail.push_str(&format!("; stderr: {tail}"));
                }
                OracleError::Ended {
                    index,
                    answered: index,
                    asked: n,
                    detail,
                }
            }
        };
        st.broken = Some(err.to_string());
        self.stop(st);
        Err(err)
    }

    fn queries(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl SubprocessOracle {
    /// Closes the pipes and ends the program (killing it if it does not exit promptly).
    fn stop(&self, st: &mut State) {
        st.stdin = None;
        st.stdout = None;
        if wait_for_exit(&mut st.child, Duration::from_millis(200)).is_none() {
            kill_tree(&mut st.child);
            let _ = st.child.wait();
        }
    }
}

impl Drop for SubprocessOracle {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(PoisonError::into_inner);
        st.stdin = None;
        st.stdout = None;
        if wait_for_exit(&mut st.child, Duration::from_secs(1)).is_none() {
            kill_tree(&mut st.child);
            let _ = st.child.wait();
        }
    }
}

/// Writes the batch in chunks; returns the number of points written completely before the
/// batch ended or the pipe broke.
fn write_batch(stdin: &mut ChildStdin, points: &Mat, framing: Framing) -> usize {
    let mut buf: Vec<u8> = Vec::with_capacity(CHUNK + 64);
    let (mut sent, mut pending) = (0usize, 0usize);
    for x in points.columns() {
        match framing {
            Framing::Text => {
                for (k, v) in x.iter().enumerate() {
                    if k > 0 {
                        buf.push(b' ');
                    }
                    // Writing into a Vec cannot fail.
                    let _ = write!(buf, "{v:e}");
                }
                buf.push(b'\n');
            }
            Framing::Binary => x
                .iter()
                .for_each(|v| buf.extend_from_slice(&v.to_le_bytes())),
        }
        pending += 1;
        if buf.len() >= CHUNK {
            if stdin.write_all(&buf).is_err() {
                return sent;
            }
            sent += pending;
            pending = 0;
            buf.clear();
        }
    }
    if !buf.is_empty() && stdin.write_all(&buf).is_ok() {
        sent += pending;
    }
    let _ = stdin.flush();
    sent
}

/// Reads up to `n` answers, sending each (or the failure that ends the batch) to `tx`.
fn read_batch(
    out: &mut BufReader<ChildStdout>,
    n: usize,
    framing: Framing,
    tx: &mpsc::Sender<Result<f64, ReadFailure>>,
) {
    let mut line = Vec::new();
    for index in 0..n {
        let answer = read_answer(out, index, framing, &mut line).and_then(|value| {
            if value.is_finite() {
                Ok(value)
            } else {
                Err(ReadFailure::Answer(OracleError::NonFiniteAnswer {
                    index,
                    value,
                }))
            }
        });
        let stop = answer.is_err();
        if tx.send(answer).is_err() || stop {
            return;
        }
    }
}

fn read_answer(
    out: &mut BufReader<ChildStdout>,
    index: usize,
    framing: Framing,
    line: &mut Vec<u8>,
) -> Result<f64, ReadFailure> {
    match framing {
        Framing::Text => {
            line.clear();
            match out.read_until(b'\n', line) {
                Ok(0) | Err(_) => {
                    return Err(ReadFailure::Ended {
                        index,
                        partial: None,
                    });
                }
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(line);
            let text = text.trim();
            text.parse::<f64>().map_err(|_| {
                let shown: String = text.chars().take(80).collect();
                ReadFailure::Answer(OracleError::Unparsable { index, text: shown })
            })
        }
        Framing::Binary => {
            let mut bytes = [0u8; 8];
            let mut got = 0;
            while got < 8 {
                match out.read(&mut bytes[got..]) {
                    Ok(0) | Err(_) => {
                        let partial = (got > 0).then(|| format!("{got} of 8 bytes"));
                        return Err(ReadFailure::Ended { index, partial });
                    }
                    Ok(k) => got += k,
                }
            }
            Ok(f64::from_le_bytes(bytes))
        }
    }
}

/// Kills the program and, on Unix, every process of its process group (it leads one).
fn kill_tree(child: &mut Child) {
    #[cfg(unix)]
    {
        // `kill -KILL -- -pgid` through the shell's builtin: no unsafe code, no extra tools.
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!("kill -s KILL -- -{} 2>/dev/null", child.id()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let _ = child.kill();
}

/// Whether a scoped thread finishes within `grace` (checked at once, then every 5 ms).
fn finishes_within<T>(handle: &std::thread::ScopedJoinHandle<'_, T>, grace: Duration) -> bool {
    let start = Instant::now();
    while !handle.is_finished() {
        if start.elapsed() >= grace {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    true
}

/// The exit status, if the child exits within `grace`.
fn wait_for_exit(child: &mut Child, grace: Duration) -> Option<ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Some(status),
            Ok(None) if start.elapsed() < grace => std::thread::sleep(Duration::from_millis(5)),
            _ => return None,
        }
    }
}

/// The last lines of the program's stderr, on one line (waits briefly for the pipe to close).
fn stderr_tail(st: &mut State) -> String {
    if let Some(handle) = st.stderr_reader.take() {
        let start = Instant::now();
        while !handle.is_finished() && start.elapsed() < Duration::from_secs(1) {
            std::thread::sleep(Duration::from_millis(5));
        }
        if handle.is_finished() {
            let _ = handle.join();
        }
    }
    let bytes: Vec<u8> = st
        .stderr
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .iter()
        .copied()
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let tail = lines[lines.len().saturating_sub(3)..].join(" | ");
    let count = tail.chars().count();
    if count > 400 {
        format!("…{}", tail.chars().skip(count - 400).collect::<String>())
    } else {
        tail
    }
}
