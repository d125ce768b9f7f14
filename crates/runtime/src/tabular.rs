//! Spreadsheets in and out, for every service: rows of cells from CSV (UTF-8, with or without a
//! byte-order mark) or XLSX (the first sheet), streamed row by row so that a file of millions of
//! rows is never held as strings all at once.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "xlsx" => Some(Format::Xlsx),
            _ => None,
        }
    }
}

fn xlsx_cell(c: &calamine::Data) -> String {
    use calamine::Data;
    match c {
        Data::Empty => String::new(),
        Data::String(s) => s.trim().to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Int(i) => i.to_string(),
        Data::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Visit each row (header first) of either format as cells with its 1-based row number,
/// without holding the whole file as strings (a city roll has millions of rows).
pub fn for_each_row(format: Format, content: &[u8], mut visit: impl FnMut(i64, &[&str])) -> Result<(), String> {
    match format {
        Format::Csv => {
            let bytes = content.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(content);
            // Excel in China saves CSV in GBK (GB18030's subset) unless told otherwise: a file
            // that is not UTF-8 is read as GB18030, and one that is neither is refused.
            let decoded;
            let bytes = if std::str::from_utf8(bytes).is_ok() {
                bytes
            } else {
                let (text, _, had_errors) = encoding_rs::GB18030.decode(bytes);
                if had_errors {
                    return Err(
                        "the CSV file is neither UTF-8 nor GBK/GB18030: save it as \"CSV UTF-8\" and import again"
                            .to_string(),
                    );
                }
                decoded = text.into_owned();
                decoded.as_bytes()
            };
            let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(bytes);
            let mut record = csv::StringRecord::new();
            let mut row = 0i64;
            loop {
                match rdr.read_record(&mut record) {
                    Ok(true) => {
                        row += 1;
                        let cells: Vec<&str> = record.iter().map(str::trim).collect();
                        visit(row, &cells);
                    }
                    Ok(false) => return Ok(()),
                    Err(e) => return Err(format!("CSV row {}: {e}", row + 1)),
                }
            }
        }
        Format::Xlsx => {
            use calamine::{Reader, Xlsx};
            let mut book: Xlsx<_> =
                Xlsx::new(std::io::Cursor::new(content)).map_err(|e| format!("not a readable XLSX file: {e}"))?;
            let range =
                book.worksheet_range_at(0).ok_or("the workbook has no sheet")?.map_err(|e| format!("XLSX: {e}"))?;
            for (i, r) in range.rows().enumerate() {
                let owned: Vec<String> = r.iter().map(xlsx_cell).collect();
                let cells: Vec<&str> = owned.iter().map(String::as_str).collect();
                visit(i as i64 + 1, &cells);
            }
            Ok(())
        }
    }
}

/// Write a header and rows as CSV or XLSX (one sheet).
pub fn write<'a>(format: Format, header: &[&str], rows: impl Iterator<Item = &'a [String]>) -> Result<Vec<u8>, String> {
    match format {
        Format::Csv => {
            let mut w = csv::Writer::from_writer(Vec::new());
            w.write_record(header).map_err(|e| e.to_string())?;
            for row in rows {
                w.write_record(row).map_err(|e| e.to_string())?;
            }
            w.into_inner().map_err(|e| e.to_string())
        }
        Format::Xlsx => {
            let mut wb = rust_xlsxwriter::Workbook::new();
            let ws = wb.add_worksheet();
            for (c, h) in header.iter().enumerate() {
                ws.write_string(0, c as u16, *h).map_err(|e| e.to_string())?;
            }
            for (r, row) in rows.enumerate() {
                for (c, v) in row.iter().enumerate() {
                    ws.write_string(r as u32 + 1, c as u16, v).map_err(|e| e.to_string())?;
                }
            }
            wb.save_to_buffer().map_err(|e| e.to_string())
        }
    }
}
