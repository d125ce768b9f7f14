//! The roll: households, import and export, payments.

use chrono::NaiveDate;
use civic_domain::RegionCode;
use civic_proto::assistance::v1 as pb;
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller},
    request, ApiError, ApiResult,
};

use super::{access, mapping as m, service::AssistanceApi};
use crate::{
    roll::{Category, RollRecord, Status},
    rules::benefit,
    spreadsheet::{self, Format},
    store,
};

/// Largest piece of a streamed export (smaller where the message limit is).
pub const EXPORT_PIECE: usize = 1024 * 1024;

/// Member rows an XLSX export may have (a county's roll; a city's goes out as CSV): the workbook
/// is built whole, so this bounds the memory of the call.
pub const XLSX_MAX_ROWS: i64 = 200_000;

pub type ExportStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::ExportRollStreamResponse, tonic::Status>> + Send>>;

fn category_pb(c: Category) -> pb::RollCategory {
    match c {
        Category::Dibao => pb::RollCategory::Dibao,
        Category::LowIncome => pb::RollCategory::LowIncome,
    }
}

fn status_pb(s: Status) -> pb::RollStatus {
    match s {
        Status::Active => pb::RollStatus::Active,
        Status::Suspended => pb::RollStatus::Suspended,
        Status::Closed => pb::RollStatus::Closed,
    }
}

pub fn record_to_pb(r: &RollRecord) -> pb::RollHousehold {
    pb::RollHousehold {
        household: Some(m::household_to_pb(&r.household)),
        category: category_pb(r.category) as i32,
        status: status_pb(r.status) as i32,
        monthly_benefit_fen: r.monthly_benefit.get(),
        computed_on: r.computed_on.to_string(),
        version: r.version,
    }
}

impl AssistanceApi {
    /// The pieces of a streamed export: 1 MiB, or less where a message may carry less.
    fn export_piece(&self) -> usize {
        EXPORT_PIECE.min(self.max_message_bytes.saturating_sub(4096)).max(1024)
    }

    /// The 低保 benefit a record gets on `date` (low-income households are not paid).
    fn benefit_of(
        &self,
        book: &civic_domain::policy::PolicyBook,
        category: Category,
        h: &crate::rules::household::Household,
        date: NaiveDate,
    ) -> ApiResult<civic_domain::Fen> {
        match category {
            Category::Dibao => {
                benefit::compute(book, h, date).map(|b| b.monthly).map_err(|e| ApiError::domain("household", e))
            }
            Category::LowIncome => Ok(civic_domain::Fen::ZERO),
        }
    }

    pub(super) async fn upsert_household(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::UpsertHouseholdRequest,
    ) -> ApiResult<pb::RollHousehold> {
        let book = self.book.current();
        let rh = r.household.as_ref().ok_or_else(|| ApiError::invalid("household", "required"))?;
        let h = m::household(&book, "household.household", rh.household.as_ref())?;
        if h.id.trim().is_empty() || h.id.len() > 64 || h.id.chars().any(char::is_control) {
            return Err(ApiError::invalid(
                "household.household.id",
                "required, at most 64 characters, no control characters",
            ));
        }
        access::check(who, &book, Access::Write, access::ROLL, "change the roll", h.region)?;
        let category = match pb::RollCategory::try_from(rh.category) {
            Ok(pb::RollCategory::Dibao) => Category::Dibao,
            Ok(pb::RollCategory::LowIncome) => Category::LowIncome,
            _ => return Err(ApiError::invalid("household.category", "DIBAO or LOW_INCOME")),
        };
        let status = match pb::RollStatus::try_from(rh.status) {
            Ok(pb::RollStatus::Active) | Ok(pb::RollStatus::Unspecified) => Status::Active,
            Ok(pb::RollStatus::Suspended) => Status::Suspended,
            Ok(pb::RollStatus::Closed) => Status::Closed,
            Err(_) => return Err(ApiError::invalid("household.status", "ACTIVE, SUSPENDED or CLOSED")),
        };
        if r.expected_version < 0 {
            return Err(ApiError::invalid("expected_version", "0 to create, or the stored version"));
        }
        let date = request::date_or_today("on_date", &r.on_date)?;
        let monthly_benefit = self.benefit_of(&book, category, &h, date)?;
        let record = RollRecord { household: h, category, status, monthly_benefit, computed_on: date, version: 0 };
        let regions = book.regions.clone();
        let saved =
            store::roll::upsert(&self.db, who, request_id, record, r.expected_version, &r.reason, |stored_region| {
                who.authorize(&regions, Access::Write, access::ROLL, "change the roll", stored_region)
                    .map_err(ApiError::from)
            })
            .await?;
        Ok(record_to_pb(&saved))
    }

    pub(super) async fn get_household(
        &self,
        who: &Caller,
        r: &pb::GetHouseholdRequest,
    ) -> ApiResult<pb::RollHousehold> {
        let book = self.book.current();
        if r.household_id.is_empty() {
            return Err(ApiError::invalid("household_id", "required"));
        }
        let rec = store::roll::get(&self.db, &r.household_id)
            .await?
            .ok_or_else(|| ApiError::not_found(format!("household {}", r.household_id)))?;
        access::check(who, &book, Access::Read, access::ROLL, "read the roll", rec.household.region)?;
        Ok(record_to_pb(&rec))
    }

    pub(super) async fn summarize(
        &self,
        who: &Caller,
        r: &pb::SummarizeAssistanceRequest,
    ) -> ApiResult<pb::SummarizeAssistanceResponse> {
        use chrono::Datelike;
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        // Aggregates, no person: civil affairs and finance (which evaluates the programmes).
        access::check(who, &book, Access::Read, access::COMPUTE, "summarize assistance", region)?;
        let month = |field: &str, s: &str| -> ApiResult<NaiveDate> {
            match NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d") {
                Ok(d) if s.len() == 7 && (2000..=2100).contains(&d.year()) => Ok(d),
                _ => Err(ApiError::invalid(field, "a month YYYY-MM")),
            }
        };
        let from = month("from_month", r.from_month.trim())?;
        let to = month("to_month", r.to_month.trim())?;
        let span = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
        if !(0..60).contains(&span) {
            return Err(ApiError::invalid("to_month", "from 1 to 60 months, not before from_month"));
        }
        let rows =
            store::roll::summarize(&self.db, &region_prefix(region), r.from_month.trim(), r.to_month.trim()).await?;
        let total = rows
            .iter()
            .try_fold(0i64, |acc, m| acc.checked_add(m.paid_fen))
            .ok_or_else(|| ApiError::Internal("overflow".into()))?;
        Ok(pb::SummarizeAssistanceResponse {
            months: rows
                .into_iter()
                .map(|m| pb::AssistanceMonth {
                    month: m.month,
                    category: m.category,
                    residence: m.residence,
                    households: m.households,
                    persons: m.persons,
                    paid_fen: m.paid_fen,
                    back_pay_fen: m.back_pay_fen,
                })
                .collect(),
            total_paid_fen: total,
            as_of: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        })
    }

    pub(super) async fn list_households(
        &self,
        who: &Caller,
        r: &pb::ListHouseholdsRequest,
    ) -> ApiResult<pb::ListHouseholdsResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::ROLL, "read the roll", region)?;
        let status = match pb::RollStatus::try_from(r.status) {
            Ok(pb::RollStatus::Unspecified) => None,
            Ok(pb::RollStatus::Active) => Some(Status::Active),
            Ok(pb::RollStatus::Suspended) => Some(Status::Suspended),
            Ok(pb::RollStatus::Closed) => Some(Status::Closed),
            Err(_) => return Err(ApiError::invalid("status", "unknown status")),
        };
        let limit = request::page_size("page_size", r.page_size)? as i64;
        let rows = store::roll::list(&self.db, &region_prefix(region), status, &r.page_token, limit).await?;
        let next = if rows.len() as i64 == limit {
            rows.last().map(|x| x.household.id.clone()).unwrap_or_default()
        } else {
            String::new()
        };
        Ok(pb::ListHouseholdsResponse { households: rows.iter().map(record_to_pb).collect(), next_page_token: next })
    }

    /// The roll as one file in one message, read from one snapshot: a CSV up to the message
    /// limit (a larger roll is refused before the service holds more, and goes through
    /// `ExportRollStream`), an XLSX up to `XLSX_MAX_ROWS` rows.
    pub(super) async fn export_roll(
        &self,
        who: &Caller,
        r: &pb::ExportRollRequest,
    ) -> ApiResult<pb::ExportRollResponse> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::ROLL, "export the roll", region)?;
        let format = Format::parse(&r.format).ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let mut snapshot = store::roll::RollSnapshot::begin(&self.db, &region_prefix(region)).await?;
        let households = snapshot.count().await?;
        let (content, ext, ct) = match format {
            Format::Csv => {
                // Room for the message's other fields.
                let limit = self.max_message_bytes.saturating_sub(4096);
                let mut content = Vec::new();
                let mut over = false;
                spreadsheet::export_csv_pieces(&mut snapshot, EXPORT_PIECE, |piece, _| {
                    over = content.len() + piece.len() > limit;
                    if !over {
                        content.extend_from_slice(&piece);
                    }
                    std::future::ready(!over)
                })
                .await?;
                if over {
                    return Err(ApiError::precondition(
                        "EXPORT_TOO_LARGE",
                        format!(
                            "the roll of {region} ({households} households) is larger as CSV than one message may carry \
                             ({} bytes, CIVIC_MAX_MESSAGE_BYTES): export it with ExportRollStream",
                            self.max_message_bytes
                        ),
                    ));
                }
                (content, "csv", "text/csv; charset=utf-8")
            }
            Format::Xlsx => {
                let rows = snapshot.member_rows().await?;
                if rows > XLSX_MAX_ROWS {
                    return Err(ApiError::precondition(
                        "EXPORT_TOO_LARGE",
                        format!(
                            "the roll of {region} has {rows} member rows; an XLSX export holds at most {XLSX_MAX_ROWS}: \
                             export it as CSV (ExportRollStream for any size) or one county at a time"
                        ),
                    ));
                }
                let mut records: Vec<RollRecord> = Vec::new();
                loop {
                    let page = snapshot.next_page().await?;
                    if page.is_empty() {
                        break;
                    }
                    records.extend(page);
                }
                let content = spreadsheet::export(format, &records).map_err(ApiError::Internal)?;
                (content, "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            }
        };
        Ok(pb::ExportRollResponse {
            content,
            filename: format!("roll-{region}.{ext}"),
            content_type: ct.into(),
            households,
        })
    }

    /// The export in pieces of at most `EXPORT_PIECE` bytes. A CSV is written as the roll is
    /// read from one snapshot, a piece at a time, so a roll of any size exports without being held
    /// (an XLSX, at most `XLSX_MAX_ROWS` rows, is built whole and cut).
    pub(super) async fn export_roll_stream(&self, who: &Caller, r: &pb::ExportRollRequest) -> ApiResult<ExportStream> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Read, access::ROLL, "export the roll", region)?;
        let format = Format::parse(&r.format).ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        if format == Format::Xlsx {
            let whole = self.export_roll(who, r).await?;
            let mut pieces: Vec<Result<pb::ExportRollStreamResponse, tonic::Status>> = Vec::new();
            let mut first = Some((whole.filename, whole.content_type, whole.households));
            for piece in whole.content.chunks(self.export_piece()) {
                let (filename, content_type, households) = first.take().unwrap_or_default();
                pieces.push(Ok(pb::ExportRollStreamResponse {
                    filename,
                    content_type,
                    households,
                    content: piece.to_vec(),
                }));
            }
            if let Some((filename, content_type, households)) = first {
                pieces.push(Ok(pb::ExportRollStreamResponse {
                    filename,
                    content_type,
                    households,
                    content: Vec::new(),
                }));
            }
            return Ok(Box::pin(tokio_stream::iter(pieces)));
        }
        let mut snapshot = store::roll::RollSnapshot::begin(&self.db, &region_prefix(region)).await?;
        let households = snapshot.count().await?;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<pb::ExportRollStreamResponse, tonic::Status>>(4);
        let filename = format!("roll-{region}.csv");
        let piece = self.export_piece();
        tokio::spawn(async move {
            let sent = spreadsheet::export_csv_pieces(&mut snapshot, piece, |content, first| {
                let chunk = if first {
                    pb::ExportRollStreamResponse {
                        filename: filename.clone(),
                        content_type: "text/csv; charset=utf-8".into(),
                        households,
                        content,
                    }
                } else {
                    pb::ExportRollStreamResponse { content, ..Default::default() }
                };
                let tx = tx.clone();
                async move { tx.send(Ok(chunk)).await.is_ok() }
            })
            .await;
            if let Err(e) = sent {
                let _ = tx.send(Err(e.into())).await;
            }
        });
        Ok(Box::pin(tokio_stream::wrappers::ReceiverStream::new(rx)))
    }

    pub(super) async fn record_payments(
        &self,
        who: &Caller,
        request_id: &str,
        r: &pb::RecordPaymentsRequest,
    ) -> ApiResult<pb::RecordPaymentsResponse> {
        let book = self.book.current();
        let region: RegionCode = request::region_code(&book, "region_code", &r.region_code)?;
        access::check(who, &book, Access::Write, access::ROLL, "record payments", region)?;
        let first_day = match NaiveDate::parse_from_str(&format!("{}-01", r.month), "%Y-%m-%d") {
            Ok(d) if r.month.len() == 7 => d,
            _ => return Err(ApiError::invalid("month", "YYYY-MM")),
        };
        let today = request::china_today();
        if first_day > today {
            return Err(ApiError::precondition(
                "MONTH_NOT_BEGUN",
                format!("{} has not begun (today is {today}, China time): a month is paid once it has begun", r.month),
            ));
        }
        let p =
            store::roll::record_payments(&self.db, who, request_id, &region_prefix(region), region, &r.month).await?;
        if p.paid == 0 && p.already_paid == 0 && p.not_in_force > 0 {
            return Err(ApiError::precondition(
                "AMOUNT_NOT_IN_FORCE",
                format!(
                    "no household's stored amount was in force in {}: the {} active households' amounts were computed for later dates, \
                     and the amount of an earlier month is not on the roll",
                    r.month, p.not_in_force
                ),
            ));
        }
        Ok(pb::RecordPaymentsResponse {
            paid: p.paid,
            already_paid: p.already_paid,
            total_fen: p.total_fen,
            not_in_force: p.not_in_force,
        })
    }
}
