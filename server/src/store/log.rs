//! Durable append-only record log: the on-disk framing of one file, its crash recovery on open,
//! group-committed appends and atomic compaction. It owns bytes, never their meaning (payloads are
//! opaque, callers serialise them), and it never acknowledges an append before it is durable.
//!
//! File layout: an 8-byte header (`KATOLOG` + format version byte), then frames of
//! `len: u32 LE | crc: u32 LE | payload`, where `crc` is CRC-32 over the four length bytes followed
//! by the payload. Covering the length too means a zero-filled tail (what some filesystems leave
//! after a crash that extended the file) never parses as a run of valid empty records.
//!
//! Failure model (the "fsyncgate" lesson, PostgreSQL 2018): after a failed `fsync` Linux may have
//! dropped the dirty pages and marked them clean, so retrying can report success for data that
//! never reached the disk. Any failed write or fsync on the append path therefore poisons the log:
//! every append in that batch and every later call fails until the log is reopened, and reopening
//! replays what actually reached the disk. An error means "outcome unknown": the record may or may
//! not be present after a restart, exactly as with any database.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

/// First seven bytes of every log file.
const MAGIC: &[u8; 7] = b"KATOLOG";
/// On-disk format version written in the eighth header byte; `open` refuses any other.
pub const FORMAT_VERSION: u8 = 1;
const FILE_HEADER: [u8; 8] = [
    MAGIC[0],
    MAGIC[1],
    MAGIC[2],
    MAGIC[3],
    MAGIC[4],
    MAGIC[5],
    MAGIC[6],
    FORMAT_VERSION,
];
const FILE_HEADER_LEN: u64 = FILE_HEADER.len() as u64;
/// Length (u32 LE) + CRC-32 (u32 LE) in front of each payload.
const FRAME_HEADER_LEN: usize = 8;

/// Default bound on one record's payload.
pub const DEFAULT_MAX_RECORD_SIZE: usize = 64 << 20;
/// Hard ceiling on a record's payload, whatever the options say. Replay accepts any record up to
/// this size even when `max_record_size` has since been lowered, so a smaller setting can never
/// make a valid record look corrupt and get truncated away.
pub const MAX_RECORD_SIZE_LIMIT: usize = 1 << 30;
/// Default bound on the bytes queued for the next group commit.
pub const DEFAULT_MAX_BATCH_BYTES: usize = 8 << 20;
/// Read buffer used while replaying and while checking a damaged tail.
const REPLAY_BUFFER_BYTES: usize = 1 << 20;
/// Write buffer used while writing a compacted log.
const COMPACTION_BUFFER_BYTES: usize = 1 << 20;

/// What the caller's replay callback returns when it rejects a record.
pub type ReplayError = Box<dyn std::error::Error + Send + Sync>;

/// When appended data is forced to stable storage.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SyncPolicy {
    /// `fdatasync` each group commit before any append in it returns; a new file's header, a
    /// repair on open and a compacted file are `fsync`ed too, and the directory after a file is
    /// created or renamed into place. The only policy that survives power loss; the default.
    #[default]
    Always,
    /// Never fsync. For tests and benchmarks only: an acknowledged append can be lost on power
    /// loss or a kernel crash (it does survive a crash of this process alone).
    Never,
}

/// What `open` does when a bad frame is followed by more data (damage inside the log rather
/// than an interrupted final write).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CorruptionPolicy {
    /// Truncate at the bad frame like a torn tail and report it as
    /// [`DamageKind::MidLogCorruption`] so the caller can warn loudly.
    #[default]
    Truncate,
    /// Fail with [`LogError::Corrupt`] and leave the file untouched for inspection.
    Refuse,
}

/// Settings of one [`RecordLog`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogOptions {
    /// When appends are fsynced. Default: [`SyncPolicy::Always`].
    pub sync: SyncPolicy,
    /// Largest payload `append` and `compact` accept, in bytes; values above
    /// [`MAX_RECORD_SIZE_LIMIT`] are clamped to it. Default: 64 MiB.
    pub max_record_size: usize,
    /// Bound on the bytes queued for the next group commit: an append waits while the queue is
    /// non-empty and its frame would push the queue past this bound. Default: 8 MiB.
    pub max_batch_bytes: usize,
    /// What `open` does about damage in the middle of the log. Default: truncate and report.
    pub mid_log_corruption: CorruptionPolicy,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            sync: SyncPolicy::Always,
            max_record_size: DEFAULT_MAX_RECORD_SIZE,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            mid_log_corruption: CorruptionPolicy::Truncate,
        }
    }
}

/// What `open` found while replaying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplayReport {
    /// Valid records handed to the callback.
    pub records: u64,
    /// The file was absent, empty or held only part of a header (a crash right after creating
    /// it), and has been initialised as an empty log.
    pub created: bool,
    /// Bytes dropped from the end of the file, if any.
    pub damage: Option<Damage>,
}

/// Bytes `open` truncated away because they did not form valid records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Damage {
    pub kind: DamageKind,
    /// File offset of the first bad frame, which is now the end of the file.
    pub offset: u64,
    /// Bytes removed from `offset` to the old end of the file.
    pub bytes_dropped: u64,
}

/// Why bytes were dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DamageKind {
    /// The bad frame reached the end of the file, or only zeros followed it: a write interrupted
    /// by a crash, which was never acknowledged. Worth a warning, nothing more.
    TornTail,
    /// Non-zero bytes followed the bad frame: data inside the log was damaged, and records that
    /// may have been acknowledged were lost with it.
    MidLogCorruption,
}

/// Errors of the record log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("record log {path}: {op} failed: {source}")]
    Io {
        path: PathBuf,
        op: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("record of {size} bytes exceeds the maximum record size of {max} bytes")]
    RecordTooLarge { size: usize, max: usize },
    #[error(
        "record log {path} is poisoned by an earlier failure ({reason}); reopen it to recover"
    )]
    Poisoned { path: PathBuf, reason: Arc<str> },
    #[error("{path} is not a KATO record log: {reason}")]
    BadHeader { path: PathBuf, reason: String },
    #[error("record log {path} is corrupt at byte {offset} with {bytes_after} bytes after it; left untouched")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        bytes_after: u64,
    },
    #[error("replay of record {seq} from {path} was rejected: {source}")]
    Replay {
        path: PathBuf,
        seq: u64,
        #[source]
        source: ReplayError,
    },
}

/// An append-only log of opaque records in one file, safe to append to from many threads.
///
/// Sequence numbers are positions in the current file, from 0; `open` hands the same numbers to
/// its callback, and `compact` renumbers from 0. One process must own the file at a time.
#[derive(Debug)]
pub struct RecordLog {
    path: PathBuf,
    options: LogOptions,
    /// Group-commit bookkeeping. A lock is needed because many session threads append at once;
    /// it is never held during IO, so appenders keep queueing while a leader writes.
    state: Mutex<CommitState>,
    /// Signalled when a batch commits, the log is poisoned, queue space frees up, or a
    /// compaction ends.
    changed: Condvar,
    /// The open log file, positioned at the end of the last committed record. Only the current
    /// commit leader or compaction (exclusive by the flags in `state`) touches it; the mutex just
    /// hands that one thread `&mut File`, so it is never contended.
    file: Mutex<File>,
}

#[derive(Debug)]
struct CommitState {
    /// Encoded frames waiting for the next leader, in sequence order.
    pending: Vec<u8>,
    /// Commit ticket of the next append. Tickets only ever grow, unlike sequence numbers,
    /// which compaction resets: an append waits on its ticket, so one that committed before a
    /// compaction but wakes after it still sees itself committed.
    next_ticket: u64,
    /// Every append with a smaller ticket is committed (durable under `Always`).
    committed_tickets: u64,
    /// Sequence number (file position) the next append gets.
    next_seq: u64,
    /// Records in the file up to the last commit.
    committed_records: u64,
    /// File length up to the end of the last committed record.
    committed_bytes: u64,
    /// A thread is writing and syncing a batch.
    leader_active: bool,
    /// A compaction is running or waiting to run; new appends wait.
    compacting: bool,
    /// Appends waiting for `pending` to drain below `max_batch_bytes`.
    waiting_for_room: usize,
    /// Why the log stopped accepting calls, if it did.
    poisoned: Option<Arc<str>>,
    /// Successful `fdatasync` calls on the append path.
    sync_count: u64,
}

impl RecordLog {
    /// Opens the log at `path`, creating it if absent, and feeds every valid record to
    /// `on_record(seq, payload)` in order, one at a time, so replay never holds the whole log.
    ///
    /// A bad frame ends replay: it and everything after it are truncated away (fsynced) and
    /// described in the report, unless the damage is mid-log and the options say
    /// [`CorruptionPolicy::Refuse`]. If `on_record` fails, `open` fails with
    /// [`LogError::Replay`] before changing anything on disk.
    pub fn open<F>(
        path: impl AsRef<Path>,
        options: LogOptions,
        mut on_record: F,
    ) -> Result<(Self, ReplayReport), LogError>
    where
        F: FnMut(u64, &[u8]) -> Result<(), ReplayError>,
    {
        let path = path.as_ref().to_path_buf();
        let options = LogOptions {
            max_record_size: options.max_record_size.min(MAX_RECORD_SIZE_LIMIT),
            ..options
        };
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(&path)
                .map_err(io_error(&path, "create"))?,
            Err(e) => return Err(io_error(&path, "open")(e)),
        };
        let file_len = file
            .metadata()
            .map_err(io_error(&path, "read metadata"))?
            .len();

        let created = file_len < FILE_HEADER_LEN;
        let mut report = ReplayReport {
            records: 0,
            created,
            damage: None,
        };
        let end = if created {
            initialise(&mut file, &path, file_len, options.sync)?;
            FILE_HEADER_LEN
        } else {
            check_header(&file, &path)?;
            let scan = replay(&file, &path, file_len, &mut on_record)?;
            report.records = scan.records;
            if let Some(damage) = scan.damage {
                if damage.kind == DamageKind::MidLogCorruption
                    && options.mid_log_corruption == CorruptionPolicy::Refuse
                {
                    return Err(LogError::Corrupt {
                        path,
                        offset: damage.offset,
                        bytes_after: damage.bytes_dropped,
                    });
                }
                // The dropped bytes were never acknowledged (torn tail) or are unreadable
                // (corruption). Make the cut durable before appending after it, or a crash could
                // resurrect the old bytes between new records.
                file.set_len(damage.offset)
                    .map_err(io_error(&path, "truncate damaged tail"))?;
                if options.sync == SyncPolicy::Always {
                    file.sync_all()
                        .map_err(io_error(&path, "fsync after truncation"))?;
                }
                report.damage = Some(damage);
            }
            scan.good_end
        };
        file.seek(SeekFrom::Start(end))
            .map_err(io_error(&path, "seek to end"))?;

        let state = CommitState {
            pending: Vec::new(),
            next_ticket: 0,
            committed_tickets: 0,
            next_seq: report.records,
            committed_records: report.records,
            committed_bytes: end,
            leader_active: false,
            compacting: false,
            waiting_for_room: 0,
            poisoned: None,
            sync_count: 0,
        };
        let log = Self {
            path,
            options,
            state: Mutex::new(state),
            changed: Condvar::new(),
            file: Mutex::new(file),
        };
        Ok((log, report))
    }

    /// The length and checksum fields of a payload's frame, refusing payloads over the limit.
    fn frame_header(&self, payload: &[u8]) -> Result<([u8; 4], [u8; 4]), LogError> {
        let too_large = || LogError::RecordTooLarge {
            size: payload.len(),
            max: self.options.max_record_size,
        };
        if payload.len() > self.options.max_record_size {
            return Err(too_large());
        }
        let len = u32::try_from(payload.len())
            .map_err(|_| too_large())?
            .to_le_bytes();
        Ok((len, frame_crc(len, payload).to_le_bytes()))
    }

    /// Appends one record and returns its sequence number once it is committed: fdatasynced
    /// under [`SyncPolicy::Always`]. Concurrent appends are group-committed: whichever caller
    /// finds no commit in progress becomes the leader and writes every queued frame with one
    /// write and one `fdatasync`, then wakes the others.
    pub fn append(&self, payload: &[u8]) -> Result<u64, LogError> {
        // The checksum is computed before taking the lock so hashing runs in parallel.
        let (len, crc) = self.frame_header(payload)?;
        let frame_len = FRAME_HEADER_LEN + payload.len();

        let mut state = self.lock_state();
        loop {
            self.check_poisoned(&state)?;
            // An empty queue always takes the frame, so one record larger than the batch bound
            // still goes through, alone.
            let room = state.pending.is_empty()
                || state.pending.len() + frame_len <= self.options.max_batch_bytes;
            if room && !state.compacting {
                break;
            }
            if room {
                state = self.wait(state);
            } else {
                state.waiting_for_room += 1;
                state = self.wait(state);
                state.waiting_for_room -= 1;
            }
        }
        state.pending.extend_from_slice(&len);
        state.pending.extend_from_slice(&crc);
        state.pending.extend_from_slice(payload);
        let seq = state.next_seq;
        state.next_seq += 1;
        let ticket = state.next_ticket;
        state.next_ticket += 1;

        loop {
            // Checked before poison: a record committed before a later failure stays committed.
            if state.committed_tickets > ticket {
                return Ok(seq);
            }
            self.check_poisoned(&state)?;
            if state.leader_active {
                state = self.wait(state);
            } else {
                // Nobody is writing, so our frame is still queued: commit the whole queue.
                state = self.commit_pending(state)?;
            }
        }
    }

    /// Atomically replaces the whole log with `records` (typically a snapshot of the state the
    /// current log replays to, so later replays stay short) and returns how many were written.
    ///
    /// Appends already queued commit to the old file first; appends arriving meanwhile wait and
    /// land after the new records. The new content is written to `<path>.tmp`, fsynced, renamed
    /// over the log and the directory fsynced, so a crash leaves either the old or the new log.
    /// A failure before the rename leaves the old log in place and usable; a failed directory
    /// fsync after it poisons the log, since later appends could vanish with the rename.
    pub fn compact<I>(&self, records: I) -> Result<u64, LogError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let mut state = self.lock_state();
        loop {
            self.check_poisoned(&state)?;
            if !state.compacting {
                break;
            }
            state = self.wait(state);
        }
        state.compacting = true;
        drop(state);
        // Clears the flag however this function ends, including a panic in the caller's
        // iterator, so appends can never wait forever. Declared before the next guard of
        // `state` so that guard is released first: the drop relocks `state`.
        let _guard = CompactionGuard { log: self };
        let mut state = self.lock_state();
        while state.leader_active || !state.pending.is_empty() {
            self.check_poisoned(&state)?;
            state = self.wait(state);
        }
        drop(state);

        let outcome = self.replace_file(records);

        let mut state = self.lock_state();
        match outcome {
            Ok((records, bytes)) => {
                state.next_seq = records;
                state.committed_records = records;
                state.committed_bytes = bytes;
                Ok(records)
            }
            Err(Failure { error, poison }) => {
                if poison {
                    state.poisoned = Some(error.to_string().into());
                }
                Err(error)
            }
        }
    }

    /// Path of the log file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Length of the file up to the end of the last committed record, header included.
    pub fn len_bytes(&self) -> u64 {
        self.lock_state().committed_bytes
    }

    /// Number of committed records in the file.
    pub fn record_count(&self) -> u64 {
        self.lock_state().committed_records
    }

    /// Number of `fdatasync` calls made by group commits since `open`: at most one per append,
    /// fewer when appends overlap and share a commit. Meant for tests and metrics.
    pub fn sync_count(&self) -> u64 {
        self.lock_state().sync_count
    }

    /// Whether an earlier failure has poisoned the log (every call now fails until reopened).
    pub fn is_poisoned(&self) -> bool {
        self.lock_state().poisoned.is_some()
    }

    /// Writes and syncs everything queued, as the leader. Called with no leader active.
    fn commit_pending<'a>(
        &'a self,
        mut state: MutexGuard<'a, CommitState>,
    ) -> Result<MutexGuard<'a, CommitState>, LogError> {
        let batch = std::mem::take(&mut state.pending);
        let (batch_end_ticket, batch_end_seq) = (state.next_ticket, state.next_seq);
        state.leader_active = true;
        if state.waiting_for_room > 0 {
            self.changed.notify_all();
        }
        drop(state);

        let outcome = self.write_batch(&batch);

        let mut state = self.lock_state();
        state.leader_active = false;
        let result = match outcome {
            Ok(synced) => {
                state.committed_tickets = batch_end_ticket;
                state.committed_records = batch_end_seq;
                state.committed_bytes += batch.len() as u64;
                state.sync_count += u64::from(synced);
                // Reuse the buffer unless one large record inflated it.
                if state.pending.is_empty() && batch.capacity() <= self.options.max_batch_bytes {
                    let mut batch = batch;
                    batch.clear();
                    state.pending = batch;
                }
                Ok(())
            }
            Err(error) => {
                // Unknown how much of the batch reached the disk, and after a failed fsync a
                // retry could lie (see the module doc): stop here and let a reopen find out.
                state.poisoned = Some(error.to_string().into());
                Err(error)
            }
        };
        self.changed.notify_all();
        result.map(|()| state)
    }

    /// One write and, under `Always`, one `fdatasync` for a whole batch. `fdatasync` suffices:
    /// it also flushes the file size, the only metadata needed to read appended data back.
    /// Returns whether it synced.
    fn write_batch(&self, batch: &[u8]) -> Result<bool, LogError> {
        let mut file = self.lock_file();
        file.write_all(batch)
            .map_err(io_error(&self.path, "append"))?;
        match self.options.sync {
            SyncPolicy::Always => {
                file.sync_data()
                    .map_err(io_error(&self.path, "fdatasync"))?;
                Ok(true)
            }
            SyncPolicy::Never => Ok(false),
        }
    }

    /// Writes `records` to the temporary file and renames it over the log. Returns the record
    /// count and byte length of the new log.
    fn replace_file<I>(&self, records: I) -> Result<(u64, u64), Failure>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let tmp = tmp_path(&self.path);
        let (file, records, bytes) = self
            .write_compacted(&tmp, records)
            .and_then(|written| {
                fs::rename(&tmp, &self.path)
                    .map_err(io_error(&self.path, "rename compacted log into place"))?;
                Ok(written)
            })
            .map_err(|error| {
                // Best effort: a leftover temporary file is harmless, it is truncated next time.
                let _ = fs::remove_file(&tmp);
                Failure {
                    error,
                    poison: false,
                }
            })?;
        // The name now points at the new file, so appends must go there.
        *self.lock_file() = file;
        if self.options.sync == SyncPolicy::Always {
            // Until the directory is synced a crash may bring the old file back, losing every
            // append acknowledged from now on; if that sync fails we cannot promise anything.
            sync_parent_dir(&self.path).map_err(|source| Failure {
                error: io_error(&self.path, "fsync directory after compaction")(source),
                poison: true,
            })?;
        }
        Ok((records, bytes))
    }

    fn write_compacted<I>(&self, tmp: &Path, records: I) -> Result<(File, u64, u64), LogError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(tmp)
            .map_err(io_error(tmp, "create compaction file"))?;
        let mut writer = BufWriter::with_capacity(COMPACTION_BUFFER_BYTES, file);
        let write_error = io_error(tmp, "write compaction file");
        writer.write_all(&FILE_HEADER).map_err(write_error)?;
        let mut count = 0u64;
        let mut bytes = FILE_HEADER_LEN;
        for record in records {
            let payload = record.as_ref();
            let (len, crc) = self.frame_header(payload)?;
            let write_error = io_error(tmp, "write compaction file");
            writer
                .write_all(&len)
                .and_then(|()| writer.write_all(&crc))
                .and_then(|()| writer.write_all(payload))
                .map_err(write_error)?;
            count += 1;
            bytes += (FRAME_HEADER_LEN + payload.len()) as u64;
        }
        let file = writer
            .into_inner()
            .map_err(|e| io_error(tmp, "write compaction file")(e.into_error()))?;
        if self.options.sync == SyncPolicy::Always {
            // sync_all, not sync_data: the new inode's metadata must be durable before the
            // rename makes it the log.
            file.sync_all()
                .map_err(io_error(tmp, "fsync compaction file"))?;
        }
        Ok((file, count, bytes))
    }

    fn check_poisoned(&self, state: &CommitState) -> Result<(), LogError> {
        match &state.poisoned {
            Some(reason) => Err(LogError::Poisoned {
                path: self.path.clone(),
                reason: Arc::clone(reason),
            }),
            None => Ok(()),
        }
    }

    // No code panics while holding either lock (the caller's compaction iterator runs without
    // them), so a poisoned mutex can only come from an abort-free unwind elsewhere: the data
    // inside is still consistent and recovering it beats cascading the panic.
    fn lock_state(&self) -> MutexGuard<'_, CommitState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_file(&self) -> MutexGuard<'_, File> {
        self.file.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait<'a>(&self, state: MutexGuard<'a, CommitState>) -> MutexGuard<'a, CommitState> {
        self.changed
            .wait(state)
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a compaction and wakes the appends it held back.
struct CompactionGuard<'a> {
    log: &'a RecordLog,
}

impl Drop for CompactionGuard<'_> {
    fn drop(&mut self) {
        self.log.lock_state().compacting = false;
        self.log.changed.notify_all();
    }
}

/// A compaction error, and whether it leaves the log in a state we can no longer vouch for.
struct Failure {
    error: LogError,
    poison: bool,
}

/// What a replay found.
struct Scan {
    records: u64,
    /// End of the last valid record.
    good_end: u64,
    damage: Option<Damage>,
}

/// One frame as read during replay.
enum Frame {
    Valid {
        frame_len: u64,
    },
    /// Unreadable; `reaches_eof` when the frame's declared extent reaches or passes the end of
    /// the file, i.e. nothing follows it.
    Bad {
        reaches_eof: bool,
    },
}

/// Writes the header into a file that is empty or holds a prefix of the header (a crash between
/// creating the file and syncing its header), then makes the file and its name durable.
fn initialise(
    file: &mut File,
    path: &Path,
    file_len: u64,
    sync: SyncPolicy,
) -> Result<(), LogError> {
    let mut existing = Vec::new();
    file.read_to_end(&mut existing)
        .map_err(io_error(path, "read header"))?;
    if existing.len() as u64 != file_len || !FILE_HEADER.starts_with(&existing) {
        return Err(LogError::BadHeader {
            path: path.to_path_buf(),
            reason: format!("{file_len} bytes that do not start a log header"),
        });
    }
    file.set_len(0)
        .and_then(|()| file.seek(SeekFrom::Start(0)))
        .and_then(|_| file.write_all(&FILE_HEADER))
        .map_err(io_error(path, "write header"))?;
    if sync == SyncPolicy::Always {
        file.sync_all().map_err(io_error(path, "fsync header"))?;
        sync_parent_dir(path).map_err(io_error(path, "fsync directory after create"))?;
    }
    Ok(())
}

fn check_header(file: &File, path: &Path) -> Result<(), LogError> {
    let mut header = [0u8; FILE_HEADER.len()];
    let mut reader = file;
    reader
        .seek(SeekFrom::Start(0))
        .and_then(|_| reader.read_exact(&mut header))
        .map_err(io_error(path, "read header"))?;
    let bad = |reason: String| LogError::BadHeader {
        path: path.to_path_buf(),
        reason,
    };
    if !header.starts_with(MAGIC) {
        return Err(bad("missing KATOLOG magic".to_owned()));
    }
    let version = header[MAGIC.len()];
    if version != FORMAT_VERSION {
        return Err(bad(format!(
            "format version {version}, this build reads version {FORMAT_VERSION}"
        )));
    }
    Ok(())
}

/// Feeds every valid record after the header to `on_record` and locates the first bad frame.
fn replay<F>(file: &File, path: &Path, file_len: u64, on_record: &mut F) -> Result<Scan, LogError>
where
    F: FnMut(u64, &[u8]) -> Result<(), ReplayError>,
{
    let read_error = io_error(path, "read record");
    let mut reader = BufReader::with_capacity(REPLAY_BUFFER_BYTES, file);
    reader
        .seek(SeekFrom::Start(FILE_HEADER_LEN))
        .map_err(read_error)?;
    let mut payload = Vec::new();
    let mut records = 0u64;
    let mut pos = FILE_HEADER_LEN;
    loop {
        let remaining = file_len.saturating_sub(pos);
        if remaining == 0 {
            return Ok(Scan {
                records,
                good_end: pos,
                damage: None,
            });
        }
        let frame = read_frame(&mut reader, remaining, &mut payload)
            .map_err(io_error(path, "read record"))?;
        match frame {
            Frame::Valid { frame_len } => {
                on_record(records, &payload).map_err(|source| LogError::Replay {
                    path: path.to_path_buf(),
                    seq: records,
                    source,
                })?;
                records += 1;
                pos += frame_len;
            }
            Frame::Bad { reaches_eof } => {
                let torn = reaches_eof
                    || only_zeros_from(&mut reader, pos).map_err(io_error(path, "read tail"))?;
                let kind = if torn {
                    DamageKind::TornTail
                } else {
                    DamageKind::MidLogCorruption
                };
                return Ok(Scan {
                    records,
                    good_end: pos,
                    damage: Some(Damage {
                        kind,
                        offset: pos,
                        bytes_dropped: remaining,
                    }),
                });
            }
        }
    }
}

/// Reads the frame at the reader's position, with `remaining` bytes left in the file.
fn read_frame(reader: &mut impl Read, remaining: u64, payload: &mut Vec<u8>) -> io::Result<Frame> {
    if remaining < FRAME_HEADER_LEN as u64 {
        return Ok(Frame::Bad { reaches_eof: true });
    }
    let mut len = [0u8; 4];
    let mut crc = [0u8; 4];
    reader.read_exact(&mut len)?;
    reader.read_exact(&mut crc)?;
    let payload_len = u32::from_le_bytes(len);
    let frame_len = FRAME_HEADER_LEN as u64 + u64::from(payload_len);
    if frame_len > remaining {
        return Ok(Frame::Bad { reaches_eof: true });
    }
    let reaches_eof = frame_len == remaining;
    // Never written by `append`; checked before allocating so garbage cannot claim a gigabyte.
    let Ok(payload_len) = usize::try_from(payload_len) else {
        return Ok(Frame::Bad { reaches_eof });
    };
    if payload_len > MAX_RECORD_SIZE_LIMIT {
        return Ok(Frame::Bad { reaches_eof });
    }
    payload.clear();
    payload.resize(payload_len, 0);
    reader.read_exact(payload)?;
    if frame_crc(len, payload) == u32::from_le_bytes(crc) {
        Ok(Frame::Valid { frame_len })
    } else {
        Ok(Frame::Bad { reaches_eof })
    }
}

/// Whether every byte from `start` to the end of the file is zero: the tail a filesystem may
/// leave when a crash persisted a larger size but not the data written into it.
fn only_zeros_from(reader: &mut BufReader<&File>, start: u64) -> io::Result<bool> {
    reader.seek(SeekFrom::Start(start))?;
    let mut chunk = vec![0u8; REPLAY_BUFFER_BYTES];
    loop {
        let read = reader.read(&mut chunk)?;
        if read == 0 {
            return Ok(true);
        }
        if chunk[..read].iter().any(|&byte| byte != 0) {
            return Ok(false);
        }
    }
}

fn frame_crc(len: [u8; 4], payload: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&len);
    hasher.update(payload);
    hasher.finalize()
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".tmp");
    PathBuf::from(name)
}

/// Makes a file's creation, or a rename onto it, durable: on Linux that takes an fsync of the
/// directory holding the name, not just of the file.
fn sync_parent_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let dir = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(dir)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Only Unix lets a directory be opened and fsynced; the server targets Linux.
        let _ = path;
        Ok(())
    }
}

fn io_error<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(io::Error) -> LogError + 'a {
    move |source| LogError::Io {
        path: path.to_path_buf(),
        op,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::thread;

    type Opened = (RecordLog, Vec<Vec<u8>>, ReplayReport);

    fn fast() -> LogOptions {
        LogOptions {
            sync: SyncPolicy::Never,
            ..LogOptions::default()
        }
    }

    fn open_collect(path: &Path, options: LogOptions) -> Result<Opened, LogError> {
        let mut records = Vec::new();
        let (log, report) = RecordLog::open(path, options, |seq, payload| {
            assert_eq!(seq, records.len() as u64, "replay hands out positions");
            records.push(payload.to_vec());
            Ok(())
        })?;
        Ok((log, records, report))
    }

    fn payloads(range: std::ops::Range<usize>) -> Vec<Vec<u8>> {
        range
            .map(|i| format!("{{\"pattern\":\"PTRN|{i:040}\"}}").into_bytes())
            .collect()
    }

    fn file_len(path: &Path) -> u64 {
        fs::metadata(path).unwrap().len()
    }

    #[test]
    fn appends_survive_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let mut expected = payloads(0..50);
        expected.push(Vec::new());
        expected.push(vec![0, 255, 0, 7]);

        let (log, records, report) = open_collect(&path, LogOptions::default()).unwrap();
        assert!(records.is_empty());
        assert!(report.created);
        for (i, payload) in expected.iter().enumerate() {
            assert_eq!(log.append(payload).unwrap(), i as u64);
        }
        assert_eq!(log.record_count(), expected.len() as u64);
        assert_eq!(log.len_bytes(), file_len(&path));
        assert_eq!(log.path(), path);
        drop(log);

        let (log, records, report) = open_collect(&path, LogOptions::default()).unwrap();
        assert_eq!(records, expected);
        assert_eq!(
            report,
            ReplayReport {
                records: expected.len() as u64,
                created: false,
                damage: None
            }
        );
        assert_eq!(log.append(b"next").unwrap(), expected.len() as u64);
    }

    #[test]
    fn torn_tail_at_every_offset_keeps_complete_records_and_repairs_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let full = dir.path().join("full.log");
        let expected = payloads(0..5);
        let (log, _, _) = open_collect(&full, fast()).unwrap();
        for payload in &expected[..4] {
            log.append(payload).unwrap();
        }
        let good_end = log.len_bytes();
        log.append(&expected[4]).unwrap();
        let full_end = log.len_bytes();
        drop(log);
        let bytes = fs::read(&full).unwrap();

        for cut in good_end..full_end {
            let path = dir.path().join(format!("cut-{cut}.log"));
            fs::write(&path, &bytes[..cut as usize]).unwrap();

            let (log, records, report) = open_collect(&path, LogOptions::default()).unwrap();
            assert_eq!(records, expected[..4], "cut at {cut}");
            let damage = (cut > good_end).then_some(Damage {
                kind: DamageKind::TornTail,
                offset: good_end,
                bytes_dropped: cut - good_end,
            });
            assert_eq!(report.damage, damage, "cut at {cut}");
            assert_eq!(file_len(&path), good_end, "repaired at {cut}");
            assert_eq!(log.append(b"after repair").unwrap(), 4);
            drop(log);

            let (_, records, report) = open_collect(&path, fast()).unwrap();
            assert_eq!(records.len(), 5, "cut at {cut}");
            assert_eq!(records[4], b"after repair");
            assert_eq!(report.damage, None);
        }
    }

    #[test]
    fn torn_header_or_empty_file_is_treated_as_new() {
        let dir = tempfile::tempdir().unwrap();
        for cut in 0..FILE_HEADER.len() {
            let path = dir.path().join(format!("header-{cut}.log"));
            fs::write(&path, &FILE_HEADER[..cut]).unwrap();
            let (log, records, report) = open_collect(&path, LogOptions::default()).unwrap();
            assert!(records.is_empty());
            assert!(report.created, "cut at {cut}");
            assert_eq!(log.append(b"first").unwrap(), 0);
            drop(log);
            let (_, records, _) = open_collect(&path, fast()).unwrap();
            assert_eq!(records, [b"first".to_vec()]);
        }
    }

    #[test]
    fn flipped_payload_byte_in_last_record_drops_that_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let expected = payloads(0..3);
        let (log, _, _) = open_collect(&path, fast()).unwrap();
        for payload in &expected {
            log.append(payload).unwrap();
        }
        drop(log);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        fs::write(&path, &bytes).unwrap();

        let (_, records, report) = open_collect(&path, fast()).unwrap();
        assert_eq!(records, expected[..2]);
        let frame_len = (FRAME_HEADER_LEN + expected[2].len()) as u64;
        assert_eq!(
            report.damage,
            Some(Damage {
                kind: DamageKind::TornTail,
                offset: bytes.len() as u64 - frame_len,
                bytes_dropped: frame_len,
            })
        );
    }

    #[test]
    fn corruption_in_the_middle_is_reported_distinctly_or_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let expected = payloads(0..4);
        let (log, _, _) = open_collect(&path, fast()).unwrap();
        log.append(&expected[0]).unwrap();
        let bad_offset = log.len_bytes();
        for payload in &expected[1..] {
            log.append(payload).unwrap();
        }
        drop(log);
        let mut bytes = fs::read(&path).unwrap();
        bytes[bad_offset as usize + FRAME_HEADER_LEN + 1] ^= 0x01;
        fs::write(&path, &bytes).unwrap();

        let refuse = LogOptions {
            mid_log_corruption: CorruptionPolicy::Refuse,
            ..fast()
        };
        match open_collect(&path, refuse) {
            Err(LogError::Corrupt {
                offset,
                bytes_after,
                ..
            }) => {
                assert_eq!(offset, bad_offset);
                assert_eq!(bytes_after, bytes.len() as u64 - bad_offset);
            }
            other => panic!("expected Corrupt, got {other:?}"),
        }
        assert_eq!(
            fs::read(&path).unwrap(),
            bytes,
            "refusal leaves the file alone"
        );

        let (_, records, report) = open_collect(&path, fast()).unwrap();
        assert_eq!(records, expected[..1]);
        assert_eq!(
            report.damage,
            Some(Damage {
                kind: DamageKind::MidLogCorruption,
                offset: bad_offset,
                bytes_dropped: bytes.len() as u64 - bad_offset,
            })
        );
        assert_eq!(file_len(&path), bad_offset);
    }

    #[test]
    fn zero_filled_tail_is_a_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, fast()).unwrap();
        log.append(b"kept").unwrap();
        let good_end = log.len_bytes();
        drop(log);
        let mut bytes = fs::read(&path).unwrap();
        bytes.resize(bytes.len() + 4096, 0);
        fs::write(&path, &bytes).unwrap();

        let (_, records, report) = open_collect(&path, fast()).unwrap();
        assert_eq!(records, [b"kept".to_vec()]);
        assert_eq!(
            report.damage,
            Some(Damage {
                kind: DamageKind::TornTail,
                offset: good_end,
                bytes_dropped: 4096,
            })
        );
    }

    #[test]
    fn files_that_are_not_logs_are_bad_headers_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let mut newer = FILE_HEADER.to_vec();
        newer[7] = FORMAT_VERSION + 1;
        let cases: [(&str, &[u8]); 3] = [
            ("garbage", b"{\"this\": \"is json, not a log\"}\n"),
            ("short garbage", b"KATX"),
            ("newer version", &newer),
        ];
        for (name, content) in cases {
            let path = dir.path().join(name);
            fs::write(&path, content).unwrap();
            let result = open_collect(&path, fast());
            assert!(
                matches!(result, Err(LogError::BadHeader { .. })),
                "{name}: {result:?}"
            );
            assert_eq!(fs::read(&path).unwrap(), content, "{name}");
        }
    }

    #[test]
    fn rejected_replay_fails_open_without_repairing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, fast()).unwrap();
        log.append(b"good").unwrap();
        log.append(b"not json").unwrap();
        drop(log);
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(&[1, 2, 3]);
        fs::write(&path, &bytes).unwrap();

        let result = RecordLog::open(&path, fast(), |_, payload| {
            if payload == b"not json" {
                return Err("unparsable record".into());
            }
            Ok(())
        });
        assert!(
            matches!(result, Err(LogError::Replay { seq: 1, .. })),
            "{result:?}"
        );
        assert_eq!(fs::read(&path).unwrap(), bytes);
    }

    #[test]
    fn oversized_records_are_refused_and_the_log_stays_usable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let options = LogOptions {
            max_record_size: 16,
            ..fast()
        };
        let (log, _, _) = open_collect(&path, options).unwrap();
        assert!(matches!(
            log.append(&[7; 17]),
            Err(LogError::RecordTooLarge { size: 17, max: 16 })
        ));
        assert_eq!(log.append(&[7; 16]).unwrap(), 0);
        let compacted = log.compact([vec![1; 4], vec![2; 17]]);
        assert!(matches!(compacted, Err(LogError::RecordTooLarge { .. })));
        assert!(!tmp_path(&path).exists());
        assert_eq!(log.append(b"still fine").unwrap(), 1);
        drop(log);

        // A lower limit on reopen must not turn valid records into "corruption".
        let lower = LogOptions {
            max_record_size: 4,
            ..fast()
        };
        let (_, records, report) = open_collect(&path, lower).unwrap();
        assert_eq!(records, [vec![7; 16], b"still fine".to_vec()]);
        assert_eq!(report.damage, None);
    }

    #[test]
    fn concurrent_appends_are_all_durable_once_and_in_each_threads_order() {
        const THREADS: usize = 8;
        const PER_THREAD: usize = 200;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, LogOptions::default()).unwrap();
        thread::scope(|scope| {
            for t in 0..THREADS {
                let log = &log;
                scope.spawn(move || {
                    for i in 0..PER_THREAD {
                        log.append(format!("{t}:{i}").as_bytes()).unwrap();
                    }
                });
            }
        });
        let appends = (THREADS * PER_THREAD) as u64;
        let syncs = log.sync_count();
        eprintln!(
            "group commit: {appends} appends, {syncs} fdatasyncs ({:.1} appends per sync)",
            appends as f64 / syncs as f64
        );
        assert!(syncs > 0 && syncs <= appends);
        assert_eq!(log.record_count(), appends);
        drop(log);

        let (_, records, _) = open_collect(&path, fast()).unwrap();
        assert_eq!(records.len() as u64, appends);
        let mut next_per_thread: HashMap<usize, usize> = HashMap::new();
        for record in records {
            let text = String::from_utf8(record).unwrap();
            let (t, i) = text.split_once(':').unwrap();
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            let next = next_per_thread.entry(t).or_default();
            assert_eq!(i, *next, "thread {t} out of order or duplicated");
            *next += 1;
        }
        assert_eq!(next_per_thread.len(), THREADS);
        assert!(next_per_thread.values().all(|&n| n == PER_THREAD));
    }

    #[test]
    fn a_small_batch_bound_still_commits_everything() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let options = LogOptions {
            max_batch_bytes: 64,
            ..fast()
        };
        let (log, _, _) = open_collect(&path, options).unwrap();
        thread::scope(|scope| {
            for t in 0..4u8 {
                let log = &log;
                scope.spawn(move || {
                    for _ in 0..100 {
                        // 100-byte payloads: every frame alone exceeds the bound.
                        log.append(&[t; 100]).unwrap();
                    }
                });
            }
        });
        drop(log);
        let (_, records, _) = open_collect(&path, fast()).unwrap();
        assert_eq!(records.len(), 400);
    }

    #[test]
    fn compaction_replaces_the_content_and_appends_continue_after_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, LogOptions::default()).unwrap();
        for payload in payloads(0..100) {
            log.append(&payload).unwrap();
        }
        let snapshot = payloads(1000..1010);
        assert_eq!(log.compact(snapshot.iter()).unwrap(), 10);
        assert_eq!(log.record_count(), 10);
        assert_eq!(log.len_bytes(), file_len(&path));
        assert!(!tmp_path(&path).exists());
        assert_eq!(log.append(b"after").unwrap(), 10);
        drop(log);

        let (log, records, report) = open_collect(&path, fast()).unwrap();
        let mut expected = snapshot.clone();
        expected.push(b"after".to_vec());
        assert_eq!(records, expected);
        assert_eq!(report.damage, None);
        assert_eq!(log.compact(Vec::<Vec<u8>>::new()).unwrap(), 0);
        drop(log);
        let (_, records, _) = open_collect(&path, fast()).unwrap();
        assert!(records.is_empty());
    }

    #[test]
    fn compaction_during_concurrent_appends_keeps_the_log_well_formed() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, fast()).unwrap();
        let compacted = AtomicBool::new(false);
        let last_per_thread = thread::scope(|scope| {
            let writers: Vec<_> = (0..8)
                .map(|t| {
                    let (log, compacted) = (&log, &compacted);
                    scope.spawn(move || {
                        let mut i = 0;
                        // Keep appending until some appends surely started after compaction.
                        let mut after = 0;
                        while after < 50 {
                            log.append(format!("{t}:{i}").as_bytes()).unwrap();
                            i += 1;
                            after += usize::from(compacted.load(Ordering::SeqCst));
                        }
                        i - 1
                    })
                })
                .collect();
            // Many rounds, so appends that committed just before a compaction often wake
            // only after it (which once livelocked when waits tracked file positions).
            for _ in 0..200 {
                thread::sleep(std::time::Duration::from_micros(100));
                log.compact([b"snapshot".to_vec()]).unwrap();
            }
            compacted.store(true, Ordering::SeqCst);
            writers
                .into_iter()
                .map(|w| w.join().unwrap())
                .collect::<Vec<usize>>()
        });
        let count = log.record_count();
        drop(log);

        let (_, records, report) = open_collect(&path, fast()).unwrap();
        assert_eq!(report.damage, None);
        assert_eq!(records.len() as u64, count);
        assert_eq!(records[0], b"snapshot");
        let mut last_seen: HashMap<usize, usize> = HashMap::new();
        for record in &records[1..] {
            let text = std::str::from_utf8(record).unwrap();
            let (t, i) = text.split_once(':').unwrap();
            let (t, i): (usize, usize) = (t.parse().unwrap(), i.parse().unwrap());
            if let Some(previous) = last_seen.insert(t, i) {
                assert_eq!(
                    i,
                    previous + 1,
                    "thread {t}: gap or reorder after compaction"
                );
            }
        }
        for (t, last) in last_per_thread.into_iter().enumerate() {
            assert_eq!(
                last_seen.get(&t),
                Some(&last),
                "thread {t} lost its last append"
            );
        }
    }

    #[test]
    fn a_panicking_compaction_input_leaves_the_log_usable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, fast()).unwrap();
        log.append(b"kept").unwrap();
        let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            log.compact((0..3).map(|i| {
                assert!(i < 2, "snapshot source failed");
                vec![i]
            }))
        }));
        assert!(panicked.is_err());
        assert_eq!(log.append(b"after").unwrap(), 1);
        drop(log);
        let (_, records, _) = open_collect(&path, fast()).unwrap();
        assert_eq!(records, [b"kept".to_vec(), b"after".to_vec()]);
    }

    #[test]
    fn a_failed_write_poisons_the_log_until_reopened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.log");
        let (log, _, _) = open_collect(&path, LogOptions::default()).unwrap();
        log.append(b"durable").unwrap();
        // A read-only handle makes the next write fail, as a dying disk would.
        *log.lock_file() = File::open(&path).unwrap();
        assert!(matches!(
            log.append(b"lost"),
            Err(LogError::Io { op: "append", .. })
        ));
        assert!(log.is_poisoned());
        assert!(matches!(
            log.append(b"later"),
            Err(LogError::Poisoned { .. })
        ));
        assert!(matches!(
            log.compact([b"x"]),
            Err(LogError::Poisoned { .. })
        ));
        drop(log);

        let (log, records, _) = open_collect(&path, LogOptions::default()).unwrap();
        assert_eq!(records, [b"durable".to_vec()]);
        assert!(!log.is_poisoned());
        assert_eq!(log.append(b"again").unwrap(), 1);
    }

    #[test]
    fn the_log_can_be_shared_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<RecordLog>();
        assert_send_sync::<LogError>();
    }
}
