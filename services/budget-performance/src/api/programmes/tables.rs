//! Programmes imported (CSV or XLSX, every row scope-checked like a single upsert, any row
//! error storing nothing) and exported in the same layout.

use civic_domain::RegionCode;
use civic_proto::budget::v1::{self as pb};
use civic_runtime::{
    audit::region_prefix,
    identity::{Access, Caller, Role},
    request::{self},
    ApiError, ApiResult,
};

use super::{convert::*, ProgrammeApi};
use crate::store::programmes::{self as store, ProgrammeRow};

impl ProgrammeApi {
    pub(super) async fn import(
        &self,
        who: &Caller,
        rid: &str,
        r: &pb::ImportProgrammesRequest,
    ) -> ApiResult<pb::ImportProgrammesResponse> {
        use crate::tables::{self, RowError};
        let book = self.book.current();
        let scope = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Write, &writers(), "import programmes", scope).map_err(ApiError::from)?;
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let reason = text("reason", &r.reason, false)?;
        let fail = |errors: Vec<RowError>| pb::ImportProgrammesResponse {
            errors: errors
                .into_iter()
                .take(tables::MAX_ERRORS)
                .map(|e| pb::ImportRowError { row: e.row, field: e.field, message: e.message })
                .collect(),
            stored: false,
            ..Default::default()
        };
        let table = match tables::read(format, &r.content, tables::PROGRAMME_COLUMNS) {
            Ok(t) => t,
            Err(errors) => return Ok(fail(errors)),
        };
        let mut errors = Vec::new();
        let mut parsed: Vec<(i64, ProgrammeRow)> = Vec::new();
        let mut seen = std::collections::HashMap::new();
        for (rn, row) in &table.rows {
            let cell = |k: &str| table.cell(row, k);
            let mut row_error = |field: &str, message: String| errors.push(RowError::new(*rn, field, message));
            let year = match cell("budget_year").parse::<i32>() {
                Ok(y) => y,
                Err(_) => {
                    row_error("budget_year", "a year such as 2024".into());
                    continue;
                }
            };
            let money = |k: &str| -> Result<i64, String> { tables::yuan_to_fen(cell(k)) };
            let adjusted = match money("adjusted_budget_yuan") {
                Ok(f) => f,
                Err(e) => {
                    row_error("adjusted_budget_yuan", e);
                    continue;
                }
            };
            let initial = if cell("initial_budget_yuan").is_empty() {
                adjusted
            } else {
                match money("initial_budget_yuan") {
                    Ok(f) => f,
                    Err(e) => {
                        row_error("initial_budget_yuan", e);
                        continue;
                    }
                }
            };
            let (Some(is_new), Some(is_major)) = (tables::flag(cell("is_new")), tables::flag(cell("is_major"))) else {
                row_error("is_new", "是/否 (or 1/0)".into());
                continue;
            };
            let enum_of = |prefix: &str, k: &str| format!("{prefix}{}", tables::canonical(cell(k)));
            let p = pb::Programme {
                region_code: cell("region_code").into(),
                budget_year: year,
                code: cell("code").into(),
                name: cell("name").into(),
                kind: pb::ProgrammeKind::from_str_name(&enum_of("PROGRAMME_KIND_", "kind"))
                    .map(|k| k as i32)
                    .unwrap_or(0),
                budget_kind: pb::BudgetKind::from_str_name(&enum_of("BUDGET_KIND_", "budget_kind"))
                    .map(|k| k as i32)
                    .unwrap_or(0),
                object_kind: pb::ObjectKind::from_str_name(&enum_of("OBJECT_KIND_", "object_kind"))
                    .map(|k| k as i32)
                    .unwrap_or(0),
                owner_role: cell("owner_role").into(),
                owner_unit: cell("owner_unit").into(),
                responsible_person: cell("responsible_person").into(),
                initial_budget_fen: initial,
                adjusted_budget_fen: adjusted,
                is_new,
                is_major,
                policy_end_date: cell("policy_end_date").into(),
                ..Default::default()
            };
            let row = match programme_row(&book, &p) {
                Ok(row) => row,
                Err(ApiError::InvalidArgument(v)) => {
                    for (field, message) in v {
                        row_error(field.trim_start_matches("programme.").trim_end_matches("_fen"), message);
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            // The same scope as a single upsert: inside the import's region, the caller's own.
            let region = RegionCode::parse(&row.region_code).map_err(|e| ApiError::Internal(e.to_string()))?;
            if !book.regions.is_within(region, scope) {
                row_error("region_code", format!("{} is outside the import's region {scope}", row.region_code));
                continue;
            }
            if let Err(e) = check_programme(&book, who, Access::Write, &row, "import programmes") {
                row_error("owner_role", e.to_string());
                continue;
            }
            if let Some(first) = seen.insert((row.region_code.clone(), row.budget_year, row.code.clone()), *rn) {
                row_error("code", format!("programme {} is also on row {first}", row.code));
                continue;
            }
            parsed.push((*rn, row));
        }
        if !errors.is_empty() {
            return Ok(fail(errors));
        }
        // Match against what is stored: create, change (the caller's own only) or leave.
        let mut existing = std::collections::HashMap::new();
        let years: std::collections::BTreeSet<i64> = parsed.iter().map(|(_, p)| p.budget_year).collect();
        for y in years {
            for p in store::all_for_year(&self.db, &region_prefix(scope), y).await? {
                existing.insert((p.region_code.clone(), p.budget_year, p.code.clone()), p);
            }
        }
        let (mut creates, mut updates, mut unchanged) = (Vec::new(), Vec::new(), 0i64);
        for (rn, mut row) in parsed {
            match existing.get(&(row.region_code.clone(), row.budget_year, row.code.clone())) {
                None => {
                    row.id = uuid::Uuid::new_v4().to_string();
                    creates.push(row);
                }
                Some(before) => {
                    if check_programme(&book, who, Access::Write, before, "import programmes").is_err() {
                        errors.push(RowError::new(
                            rn,
                            "code",
                            format!("programme {} belongs to another bureau", row.code),
                        ));
                        continue;
                    }
                    row.id = before.id.clone();
                    row.version = before.version;
                    row.updated_at = before.updated_at.clone();
                    if same_values(before, &row) {
                        unchanged += 1;
                    } else {
                        updates.push((before.clone(), row));
                    }
                }
            }
        }
        if !errors.is_empty() {
            return Ok(fail(errors));
        }
        store::import(&self.db, who, rid, &creates, &updates, &reason).await?;
        Ok(pb::ImportProgrammesResponse {
            created: creates.len() as i64,
            changed: updates.len() as i64,
            unchanged,
            errors: vec![],
            stored: true,
        })
    }

    pub(super) async fn export(&self, who: &Caller, r: &pb::ExportProgrammesRequest) -> ApiResult<pb::ExportedTable> {
        let book = self.book.current();
        let region = request::region_code(&book, "region_code", &r.region_code)?;
        who.authorize(&book.regions, Access::Read, &writers(), "export programmes", region).map_err(ApiError::from)?;
        let format = civic_runtime::tabular::Format::parse(&r.format)
            .ok_or_else(|| ApiError::invalid("format", "csv or xlsx"))?;
        let own = |p: &ProgrammeRow| {
            matches!(who.role, Role::Finance | Role::Admin | Role::Auditor) || p.owner_role == who.role.as_str()
        };
        let rows: Vec<Vec<String>> = store::all_for_year(&self.db, &region_prefix(region), i64::from(r.budget_year))
            .await?
            .iter()
            .filter(|p| own(p))
            .map(programme_cells)
            .collect();
        let header: Vec<&str> = crate::tables::PROGRAMME_COLUMNS.iter().map(|(k, _, _)| *k).collect();
        let content = civic_runtime::tabular::write(format, &header, rows.iter().map(|r| r.as_slice()))
            .map_err(ApiError::Internal)?;
        let (filename, content_type) = crate::tables::file(&format!("programmes-{region}-{}", r.budget_year), format);
        Ok(pb::ExportedTable { filename, content_type, content, rows: rows.len() as i64 })
    }
}
