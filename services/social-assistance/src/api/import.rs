//! Importing the roll, sent whole (`ImportRoll`) or in pieces (`ImportRollStream`): the file is
//! read row by row into a compact roster (a CSV in pieces as they arrive, never whole), every
//! household's benefit is computed a slice at a time, and the households are stored a slice at a
//! time in one transaction — so the largest accepted import keeps to a stated memory bound
//! (BENCHMARKS.md, "Memory of the largest import"). All problems are reported at once, each with
//! its row; a file with any problem stores nothing.
//!
//! The households are written while the file is still being read, as the reader moves past them
//! (a roll's rows come household by household) — on PostgreSQL always, on SQLite for a file
//! received whole (`ImportRoll`; a stream would hold SQLite's one writer for as long as its
//! sender takes). The transaction is committed
//! only if the whole file could be stored as it was read. Otherwise — a problem, a household's
//! rows apart, a benefit that cannot be computed, a household outside the caller's scope — what
//! was written is rolled back and the file is checked and stored whole, so the answer never
//! depends on the order of its rows.

use std::sync::Arc;

use chrono::NaiveDate;
use civic_domain::{policy::PolicyBook, Fen, RegionCode};
use civic_proto::assistance::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller},
    request, ApiError, ApiResult,
};
use sha2::{Digest, Sha256};

use super::{access, service::AssistanceApi};
use crate::{
    roll::RollRecord,
    roster::{Built, Follow, Reader, Roster},
    spreadsheet::{Format, RowError},
    store::{
        self,
        roll::{Prepared, RollWriter},
    },
};

/// Households whose benefits are computed together (the benefit kernel's compact copy of them
/// stays small); with at most [`CHECK_PARTS`] parts at once, 50,000 households are built at a
/// time, as many as in one pass before.
const BENEFIT_SLICE: usize = 25_000;
/// Parts a large roll is checked in at most (on the machine's cores).
const CHECK_PARTS: usize = 2;
/// Households built and written together.
const STORE_SLICE: usize = 20_000;

/// What an import is asked to do, checked before any of the file is read.
struct Meta {
    region: RegionCode,
    format: Format,
    date: NaiveDate,
    reason: String,
    dry_run: bool,
}

fn row_errors(errs: Vec<RowError>) -> pb::ImportRollResponse {
    pb::ImportRollResponse {
        households: 0,
        members: 0,
        errors: errs.into_iter().map(|e| pb::RowError { row: e.row, field: e.field, message: e.message }).collect(),
        stored: false,
    }
}

/// The file's rows as they arrive, for the parser on its own thread.
struct Pieces {
    rx: tokio::sync::mpsc::Receiver<Vec<u8>>,
    piece: Vec<u8>,
    at: usize,
}

impl std::io::Read for Pieces {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.piece.len() {
            match self.rx.blocking_recv() {
                Some(p) => {
                    self.piece = p;
                    self.at = 0;
                }
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.piece.len() - self.at);
        out[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Where a streamed file's pieces go.
enum Sink {
    /// To the reader on its own thread, as they arrive.
    Reader(tokio::sync::mpsc::Sender<Vec<u8>>, tokio::task::JoinHandle<(Roster, Vec<RowError>)>),
    /// Into one file (an XLSX is read from its end).
    Whole(Vec<u8>),
}

/// Build households `slice` of the roster (in id order) with their computed benefits.
fn records(roster: &Roster, slice: &[u32], amounts: &[i64], date: NaiveDate) -> Result<Vec<RollRecord>, ApiError> {
    slice
        .iter()
        .zip(amounts)
        .map(|(&i, &fen)| {
            let (household, category, status) = roster
                .household(i)
                .map_err(|e| ApiError::Internal(format!("a checked household failed its check again: {e:?}")))?;
            Ok(RollRecord {
                household,
                category,
                status,
                monthly_benefit: Fen::new(fen),
                computed_on: date,
                version: 1,
            })
        })
        .collect()
}

/// An import written while its file is read (see [`AssistanceApi::follow`]): the writer, once
/// anything was handed on, unless a household's benefit could not be computed.
type Following = tokio::task::JoinHandle<Result<Option<RollWriter>, ApiError>>;

fn task_failed(e: tokio::task::JoinError) -> ApiError {
    ApiError::Internal(format!("import task: {e}"))
}

/// A household read from the file, as stored before its benefit on `date` is known.
fn unpriced((household, category, status): Built, date: NaiveDate) -> RollRecord {
    RollRecord { household, category, status, monthly_benefit: Fen::ZERO, computed_on: date, version: 1 }
}

/// Households handed on by the reader with their benefits on `date`, as [`benefits`] computes
/// them; None if any cannot be computed.
fn priced(book: &PolicyBook, date: NaiveDate, built: Vec<Built>) -> Option<Vec<RollRecord>> {
    let mut records: Vec<RollRecord> = built.into_iter().map(|b| unpriced(b, date)).collect();
    let amounts = crate::population::benefits(book, date, &records);
    for (r, amount) in records.iter_mut().zip(amounts) {
        r.monthly_benefit = amount.ok()?;
    }
    Some(records)
}

/// Write the slices the reader hands on, each priced and made ready on a blocking thread while
/// the one before it is written, until the reader stops handing on; the writer is not finished.
/// None if a benefit could not be computed (then nothing written is kept).
async fn write_as_read(
    db: civic_runtime::storage::Database,
    scope_prefix: String,
    book: Arc<PolicyBook>,
    date: NaiveDate,
    mut handed: tokio::sync::mpsc::Receiver<Vec<Built>>,
) -> Result<Option<RollWriter>, ApiError> {
    let mut writer: Option<RollWriter> = None;
    let mut pending: Option<tokio::task::JoinHandle<Option<Prepared>>> = None;
    let mut open = true;
    while open || pending.is_some() {
        let next = if open { handed.recv().await } else { None };
        open = next.is_some();
        let ready = pending.take();
        if let Some(built) = next {
            let w = match &mut writer {
                Some(w) => w,
                None => writer.insert(RollWriter::begin(&db, &scope_prefix).await?),
            };
            let (book, preparer) = (book.clone(), w.preparer());
            pending =
                Some(tokio::task::spawn_blocking(move || priced(&book, date, built).map(|r| preparer.prepare(r))));
        }
        if let Some(ready) = ready {
            match (ready.await.map_err(task_failed)?, writer.as_mut()) {
                (Some(slice), Some(w)) => w.write(&slice).await?,
                _ => {
                    if let Some(w) = writer {
                        w.abandon().await?;
                    }
                    return Ok(None);
                }
            }
        }
    }
    Ok(writer)
}

/// Rolls from this size are checked in parts on the machine's cores.
const PARALLEL_FROM: usize = 100_000;

/// What one part of the roll's check found: its amounts (while nothing was wrong in it), the
/// households that cannot be read and the benefits that cannot be computed.
struct Checked {
    amounts: Vec<i64>,
    unreadable: Vec<RowError>,
    uncomputable: Vec<RowError>,
}

/// Check households `part` (in id order), a slice at a time; once anything is wrong in the part,
/// the rest of it is only read.
fn check_part(book: &PolicyBook, roster: &Roster, date: NaiveDate, part: &[u32], slice_len: usize) -> Checked {
    let mut c = Checked { amounts: Vec::with_capacity(part.len()), unreadable: Vec::new(), uncomputable: Vec::new() };
    for slice in part.chunks(slice_len) {
        let mut built = Vec::with_capacity(slice.len());
        let mut rows = Vec::with_capacity(slice.len());
        for &i in slice {
            match roster.household(i) {
                Ok(b) => {
                    built.push(unpriced(b, date));
                    rows.push(roster.first_row(i));
                }
                Err(e) => c.unreadable.extend(e),
            }
        }
        if !c.unreadable.is_empty() || !c.uncomputable.is_empty() {
            continue;
        }
        for (amount, row) in crate::population::benefits(book, date, &built).into_iter().zip(rows) {
            match amount {
                Ok(fen) => c.amounts.push(fen.get()),
                Err(message) => c.uncomputable.push(RowError { row, field: "household_id".into(), message }),
            }
        }
    }
    c
}

/// Check every household and compute its benefit on `date`, a slice at a time: the households
/// in id order and their amounts, or every problem (the reader's, then the households'). Once
/// anything is wrong, the rest is only read: a benefit that cannot be computed is reported up to
/// the first slice with a problem, a household that cannot be read wherever it is. A large roll
/// is checked in parts on the machine's cores, whole slices each, with the same answer.
fn benefits(
    book: &PolicyBook,
    roster: &Roster,
    date: NaiveDate,
    errors: Vec<RowError>,
) -> Result<(Vec<u32>, Vec<i64>), Vec<RowError>> {
    let parts = if roster.len() < PARALLEL_FROM {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |p| p.get()).min(CHECK_PARTS)
    };
    check_in_parts(book, roster, date, errors, parts, BENEFIT_SLICE)
}

/// `benefits` in `parts` parts of whole slices of `slice_len` households, on as many threads.
fn check_in_parts(
    book: &PolicyBook,
    roster: &Roster,
    date: NaiveDate,
    mut errors: Vec<RowError>,
    parts: usize,
    slice_len: usize,
) -> Result<(Vec<u32>, Vec<i64>), Vec<RowError>> {
    let order = roster.order();
    let per_part = order.len().div_ceil(slice_len).div_ceil(parts.max(1)).max(1) * slice_len;
    let checked: Vec<Checked> = if parts <= 1 {
        vec![check_part(book, roster, date, &order, slice_len)]
    } else {
        std::thread::scope(|scope| {
            let running: Vec<_> = order
                .chunks(per_part)
                .map(|part| scope.spawn(move || check_part(book, roster, date, part, slice_len)))
                .collect();
            // A part that panicked panics here too, as one pass would have.
            running.into_iter().map(|r| r.join().unwrap_or_else(|e| std::panic::resume_unwind(e))).collect()
        })
    };
    let mut amounts = Vec::with_capacity(order.len());
    for c in checked {
        // A part after a problem reports only what cannot be read, as one pass would.
        if errors.is_empty() {
            errors.extend(c.uncomputable);
        }
        errors.extend(c.unreadable);
        if errors.is_empty() {
            amounts.extend(c.amounts);
        }
    }
    if errors.is_empty() {
        Ok((order, amounts))
    } else {
        errors.sort_by_key(|e| e.row);
        Err(errors)
    }
}

impl AssistanceApi {
    /// What the request (or a stream's first piece) asks, checked.
    fn import_meta(&self, who: &Caller, book: &PolicyBook, r: &pb::ImportRollStreamRequest) -> ApiResult<Meta> {
        let region = request::region_code(book, "region_code", &r.region_code)?;
        access::check(who, book, Access::Write, access::ROLL, "import the roll", region)?;
        let format = Format::parse(&r.format).ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let date = request::date_or_today("on_date", &r.on_date)?;
        Ok(Meta { region, format, date, reason: r.reason.clone(), dry_run: r.dry_run })
    }

    pub(super) async fn import_roll(
        &self,
        who: &Caller,
        request_id: &str,
        r: pb::ImportRollRequest,
    ) -> ApiResult<pb::ImportRollResponse> {
        let started = std::time::Instant::now();
        let book = self.book.current();
        // The file is not copied: it moves to the reading task and is freed when read.
        let pb::ImportRollRequest { region_code, format, content, on_date, reason, dry_run } = r;
        let asked = pb::ImportRollStreamRequest { region_code, format, content: Vec::new(), on_date, reason, dry_run };
        let meta = self.import_meta(who, &book, &asked)?;
        if content.is_empty() {
            return Err(ApiError::invalid("content", "the file is empty"));
        }
        // Reading a city's roll is CPU work: off the request threads, its digest beside it.
        let content = Arc::new(content);
        let for_digest = content.clone();
        let digest = tokio::task::spawn_blocking(move || format!("{:x}", Sha256::digest(&*for_digest)));
        let (format, region, for_read, budget) = (meta.format, meta.region, book.clone(), self.max_import_memory_bytes);
        let (follow, following) = self.follow(who, &book, &meta, true).unzip();
        let (roster, errors) = tokio::task::spawn_blocking(move || {
            Reader::new(&for_read.regions, region, budget).following(follow).read_bytes(format, &content)
        })
        .await
        .map_err(task_failed)?;
        let digest = digest.await.map_err(task_failed)?;
        let read_in = started.elapsed();
        let timing = (started, read_in);
        if let Some(done) =
            self.finish_following(who, request_id, &meta, following, &roster, &errors, &digest, timing).await?
        {
            return Ok(done);
        }
        self.store_roster(who, request_id, book, meta, roster, errors, digest, timing).await
    }

    /// A file in pieces: the first names the region, format, date and reason; a CSV is read as
    /// its pieces arrive, an XLSX (a zip, read from its end) once whole.
    pub(super) async fn import_roll_stream(
        &self,
        who: &Caller,
        request_id: &str,
        mut pieces: tonic::Streaming<pb::ImportRollStreamRequest>,
    ) -> Result<pb::ImportRollResponse, tonic::Status> {
        let started = std::time::Instant::now();
        let mut first = pieces.message().await?.ok_or_else(|| ApiError::invalid("content", "no piece was sent"))?;
        let book = self.book.current();
        let meta = self.import_meta(who, &book, &first)?;
        let too_large = || {
            ApiError::invalid(
                "content",
                format!("the file is larger than {} bytes (CIVIC_MAX_IMPORT_BYTES)", self.max_import_bytes),
            )
        };
        let mut digest = Sha256::new();
        let mut total = 0usize;
        let mut next = Some(std::mem::take(&mut first.content));
        let (region, budget) = (meta.region, self.max_import_memory_bytes);
        // Where the pieces go: a CSV to its reader as they arrive (its households written as it
        // moves past them), an XLSX into one file.
        let mut following = None;
        let mut sink = match meta.format {
            Format::Csv => {
                let (tx, rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
                let for_read = book.clone();
                let (follow, writing) = self.follow(who, &book, &meta, false).unzip();
                following = writing;
                let reading = tokio::task::spawn_blocking(move || {
                    Reader::new(&for_read.regions, region, budget).following(follow).read_csv(Pieces {
                        rx,
                        piece: Vec::new(),
                        at: 0,
                    })
                });
                Sink::Reader(tx, reading)
            }
            Format::Xlsx => Sink::Whole(Vec::new()),
        };
        loop {
            let piece = match next.take() {
                Some(p) => p,
                None => match pieces.message().await? {
                    Some(p) => p.content,
                    None => break,
                },
            };
            total = total.saturating_add(piece.len());
            if total > self.max_import_bytes {
                return Err(too_large().into());
            }
            digest.update(&piece);
            match &mut sink {
                // The reader stops early only when the file cannot be read on: its answer says
                // why.
                Sink::Reader(tx, _) => {
                    if tx.send(piece).await.is_err() {
                        break;
                    }
                }
                Sink::Whole(file) => file.extend_from_slice(&piece),
            }
        }
        let read = match sink {
            Sink::Reader(tx, reading) => {
                drop(tx);
                reading.await
            }
            Sink::Whole(file) => {
                let for_read = book.clone();
                tokio::task::spawn_blocking(move || {
                    Reader::new(&for_read.regions, region, budget).read_bytes(Format::Xlsx, &file)
                })
                .await
            }
        };
        let (roster, errors) = read.map_err(task_failed)?;
        if total == 0 {
            return Err(ApiError::invalid("content", "the file is empty").into());
        }
        let digest = format!("{:x}", digest.finalize());
        let timing = (started, started.elapsed());
        if let Some(done) =
            self.finish_following(who, request_id, &meta, following, &roster, &errors, &digest, timing).await?
        {
            return Ok(done);
        }
        Ok(self.store_roster(who, request_id, book, meta, roster, errors, digest, timing).await?)
    }

    /// Compute and store what was read: nothing if anything is wrong.
    #[allow(clippy::too_many_arguments)]
    async fn store_roster(
        &self,
        who: &Caller,
        request_id: &str,
        book: Arc<PolicyBook>,
        meta: Meta,
        roster: Roster,
        errors: Vec<RowError>,
        digest: String,
        (started, read_in): (std::time::Instant, std::time::Duration),
    ) -> ApiResult<pb::ImportRollResponse> {
        let roster = Arc::new(roster);
        let date = meta.date;
        let for_check = roster.clone();
        let checked = tokio::task::spawn_blocking(move || benefits(&book, &for_check, date, errors))
            .await
            .map_err(task_failed)?;
        let (order, amounts) = match checked {
            Ok(ok) => ok,
            Err(errs) => return Ok(row_errors(errs)),
        };
        let checked_in = started.elapsed();
        if !meta.dry_run {
            let mut writer = store::roll::RollWriter::begin(&self.db, &region_prefix(who.scope)).await?;
            let order = Arc::new(order);
            let amounts = Arc::new(amounts);
            let preparer = writer.preparer();
            // Each slice is built and made ready on a blocking thread while the one before it is
            // written: the service's work and the database's overlap.
            let prepare = |from: usize| {
                let to = (from + STORE_SLICE).min(order.len());
                let (roster, order, amounts, preparer) =
                    (roster.clone(), order.clone(), amounts.clone(), preparer.clone());
                tokio::task::spawn_blocking(move || {
                    records(&roster, &order[from..to], &amounts[from..to], date).map(|r| preparer.prepare(r))
                })
            };
            let mut next = (!order.is_empty()).then(|| prepare(0));
            let mut from = 0;
            while let Some(ready) = next.take() {
                let slice = ready.await.map_err(task_failed)??;
                from += STORE_SLICE;
                if from < order.len() {
                    next = Some(prepare(from));
                }
                writer.write(&slice).await?;
            }
            let outcome = writer.finish(who, request_id, meta.region, &digest, &meta.reason).await?;
            if let store::roll::ImportOutcome::OutOfScope(ids) = outcome {
                // The same answer whether the id is another county's or not: the row names the id
                // and says it cannot be written from this scope, nothing about its owner.
                let mut errs: Vec<RowError> = ids
                    .iter()
                    .filter_map(|id| roster.find(id).map(|i| (id, roster.first_row(i))))
                    .map(|(id, row)| RowError {
                        row,
                        field: "household_id".into(),
                        message: format!(
                            "household id '{id}' cannot be written from {}: choose the household's own id",
                            who.scope
                        ),
                    })
                    .collect();
                errs.sort_by_key(|e| e.row);
                return Ok(row_errors(errs));
            }
        }
        Ok(self.imported(&meta, &roster, (started, read_in), Some(checked_in)))
    }

    /// Where this import's households are written while the file is read, and what hands them
    /// on; not for a dry run, and on SQLite (one writer at a time) only for a file already
    /// received whole (`whole`), whose reading is the service's own work — a streamed file would
    /// hold every other writer for as long as its sender takes. What is written is kept only if
    /// the whole file is read without a problem and every household was written
    /// ([`Self::finish_following`]).
    fn follow(&self, who: &Caller, book: &Arc<PolicyBook>, meta: &Meta, whole: bool) -> Option<(Follow, Following)> {
        if meta.dry_run || (self.db.bulk.is_none() && !whole) {
            return None;
        }
        let (to, handed) = tokio::sync::mpsc::channel(1);
        let writing = write_as_read(self.db.clone(), region_prefix(who.scope), book.clone(), meta.date, handed);
        Some((Follow::new(to, STORE_SLICE), tokio::spawn(writing)))
    }

    /// Commit an import written while its file was read, once the file is read: the answer, or
    /// None when it is to be checked and stored as a whole (what was written is undone) —
    /// because the file has a problem, a household's rows were apart, a benefit could not be
    /// computed, or a household is outside the caller's scope (reported in id order, as always).
    #[allow(clippy::too_many_arguments)]
    async fn finish_following(
        &self,
        who: &Caller,
        request_id: &str,
        meta: &Meta,
        following: Option<Following>,
        roster: &Roster,
        errors: &[RowError],
        digest: &str,
        timing: (std::time::Instant, std::time::Duration),
    ) -> ApiResult<Option<pb::ImportRollResponse>> {
        let Some(following) = following else { return Ok(None) };
        let written = following.await.map_err(task_failed)?;
        // A file with a problem is answered with its problems, whatever happened to the writing.
        if !errors.is_empty() {
            if let Ok(Some(writer)) = written {
                writer.abandon().await?;
            }
            return Ok(None);
        }
        let Some(writer) = written? else { return Ok(None) };
        if writer.households() != roster.len() {
            writer.abandon().await?;
            return Ok(None);
        }
        match writer.finish(who, request_id, meta.region, digest, &meta.reason).await? {
            store::roll::ImportOutcome::Stored { .. } => Ok(Some(self.imported(meta, roster, timing, None))),
            store::roll::ImportOutcome::OutOfScope(_) => Ok(None),
        }
    }

    /// The answer for an import stored (or, in a dry run, checked), and its log line.
    fn imported(
        &self,
        meta: &Meta,
        roster: &Roster,
        (started, read_in): (std::time::Instant, std::time::Duration),
        checked_in: Option<std::time::Duration>,
    ) -> pb::ImportRollResponse {
        let (households, members) = (roster.len() as i64, roster.member_count());
        tracing::info!(
            households,
            members,
            read_ms = read_in.as_millis() as u64,
            check_ms = checked_in.map(|c| c.as_millis() as u64),
            total_ms = started.elapsed().as_millis() as u64,
            written_while_read = checked_in.is_none(),
            stored = !meta.dry_run,
            "roll imported"
        );
        pb::ImportRollResponse { households, members, errors: vec![], stored: !meta.dry_run }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "household_id,region_code,residence,category,status,member_id,age,able_bodied,has_income_proof,incomes\n";

    fn roster(bad: &[usize]) -> (PolicyBook, Roster, Vec<RowError>) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies");
        let book = civic_runtime::policy_book::load(&dir).unwrap();
        let mut csv = HEADER.to_string();
        for i in 0..40 {
            csv.push_str(&format!("H{i:03},210502,urban,dibao,active,a,{},false,true,wage:{}\n", 20 + i, 100 * i));
            // A household of 51 is refused by the reader.
            let more = if bad.contains(&i) { 50 } else { 1 };
            for m in 0..more {
                csv.push_str(&format!("H{i:03},210502,urban,dibao,active,m{m},9,false,true,\n"));
            }
        }
        let scope = RegionCode::parse("210500").unwrap();
        let (roster, errors) = Reader::new(&book.regions, scope, usize::MAX).read_csv(csv.as_bytes());
        assert_eq!(errors.len(), bad.len(), "{errors:?}");
        (book, roster, errors)
    }

    fn answer(r: Result<(Vec<u32>, Vec<i64>), Vec<RowError>>) -> Result<Vec<i64>, Vec<(i64, String)>> {
        r.map(|(_, amounts)| amounts).map_err(|e| e.into_iter().map(|e| (e.row, e.field)).collect())
    }

    /// Checked in parts, the answer is the one pass's: the same amounts, and the same problems —
    /// a benefit that cannot be computed only up to the first slice with a problem, none after
    /// the reader's.
    #[test]
    fn a_roll_checked_in_parts_answers_as_one_pass() {
        let june = NaiveDate::from_ymd_opt(2019, 6, 15).unwrap();
        let before_any_standard = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        for (bad, date) in
            [(&[][..], june), (&[7, 31][..], june), (&[][..], before_any_standard), (&[31][..], before_any_standard)]
        {
            let (book, roster, errors) = roster(bad);
            let one = answer(check_in_parts(&book, &roster, date, errors.clone(), 1, 3));
            for parts in 2..=5 {
                let many = answer(check_in_parts(&book, &roster, date, errors.clone(), parts, 3));
                assert_eq!(many, one, "{bad:?} {date} in {parts} parts");
            }
            match (&one, bad.is_empty(), date == june) {
                (Ok(amounts), true, true) => assert_eq!(amounts.len(), 40),
                // The reader's problems, and then nothing is computed.
                (Err(e), false, _) => assert_eq!(e.len(), bad.len(), "{e:?}"),
                // Before any standard: the first slice's three households only.
                (Err(e), true, false) => assert_eq!(e.len(), 3, "{e:?}"),
                _ => panic!("{bad:?} {date}: {one:?}"),
            }
        }
    }
}
