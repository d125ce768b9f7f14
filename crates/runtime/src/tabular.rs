//! Spreadsheets in and out, for every service: rows of cells from CSV (UTF-8, with or without a
//! byte-order mark, or GBK/GB18030) or XLSX (the first sheet), streamed row by row so that a file
//! of millions of rows is never held as strings all at once; CSV also from a reader, so that a
//! file sent in pieces is read as it arrives.

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
pub fn for_each_row(format: Format, content: &[u8], visit: impl FnMut(i64, &[&str])) -> Result<(), String> {
    match format {
        Format::Csv => for_each_csv_row(content, visit),
        Format::Xlsx => for_each_xlsx_row(content, visit),
    }
}

/// The first sheet's rows, cell by cell as the sheet's XML is read (the sheet is never held as
/// a grid of cells); a row's number is its number in the sheet.
fn for_each_xlsx_row(content: &[u8], mut visit: impl FnMut(i64, &[&str])) -> Result<(), String> {
    use calamine::{Reader, Xlsx};
    let mut book: Xlsx<_> =
        Xlsx::new(std::io::Cursor::new(content)).map_err(|e| format!("not a readable XLSX file: {e}"))?;
    let first = book.sheet_names().into_iter().next().ok_or("the workbook has no sheet")?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(|e| format!("XLSX: {e}"))?;
    let mut row: Vec<String> = Vec::new();
    let mut at: Option<u32> = None;
    let emit = |n: u32, row: &[String], visit: &mut dyn FnMut(i64, &[&str])| {
        let cells: Vec<&str> = row.iter().map(String::as_str).collect();
        visit(i64::from(n) + 1, &cells);
    };
    while let Some(cell) = cells.next_cell().map_err(|e| format!("XLSX: {e}"))? {
        let (r, c) = cell.get_position();
        if at != Some(r) {
            if let Some(n) = at {
                emit(n, &row, &mut visit);
            }
            row.clear();
            at = Some(r);
        }
        let c = c as usize;
        if c >= row.len() {
            row.resize(c + 1, String::new());
        }
        row[c] = xlsx_cell(&calamine::Data::from(cell.get_value().clone()));
    }
    if let Some(n) = at {
        emit(n, &row, &mut visit);
    }
    Ok(())
}

/// The bytes looked at to tell UTF-8 from GB18030.
const SNIFF: usize = 64 * 1024;

const NOT_UTF8_NOR_GBK: &str =
    "the CSV file is neither UTF-8 nor GBK/GB18030: save it as \"CSV UTF-8\" and import again";

/// Visit each CSV row read from `source` as it arrives (a file sent in pieces is never whole
/// in memory). UTF-8 with or without a byte-order mark; Excel in China saves CSV in GBK
/// (GB18030's subset) unless told otherwise, so a file whose first 64 KiB are not UTF-8 is read
/// as GB18030, and one that is neither is refused.
pub fn for_each_csv_row(mut source: impl std::io::Read, mut visit: impl FnMut(i64, &[&str])) -> Result<(), String> {
    use std::io::Read;
    let mut head = Vec::with_capacity(SNIFF);
    (&mut source).take(SNIFF as u64).read_to_end(&mut head).map_err(|e| format!("reading the file: {e}"))?;
    let whole = head.len() < SNIFF;
    let start = if head.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let utf8 = match std::str::from_utf8(&head[start..]) {
        Ok(_) => true,
        // A character cut at the end of what was looked at.
        Err(e) => e.error_len().is_none() && !whole,
    };
    let rest = std::io::Cursor::new(head).chain(source);
    if utf8 {
        let mut rest = rest;
        let mut bom = [0u8; 3];
        if start == 3 {
            rest.read_exact(&mut bom).map_err(|e| format!("reading the file: {e}"))?;
        }
        read_csv(rest, &mut visit)
    } else {
        read_csv(Gb18030Reader::new(rest), &mut visit)
    }
}

/// `str::trim`, quicker for a cell with nothing to trim.
fn trim_cell(s: &str) -> &str {
    match (s.as_bytes().first(), s.as_bytes().last()) {
        (Some(a), Some(b)) if a.is_ascii_graphic() && b.is_ascii_graphic() => s,
        _ => s.trim(),
    }
}

fn read_csv(source: impl std::io::Read, visit: &mut impl FnMut(i64, &[&str])) -> Result<(), String> {
    let mut rdr = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(source);
    let mut record = csv::StringRecord::new();
    let mut row = 0i64;
    loop {
        match rdr.read_record(&mut record) {
            Ok(true) => {
                row += 1;
                // A row's cells on the stack (a roll's rows have ten), without trimming a cell
                // that begins and ends with a visible ASCII character.
                let mut few = [""; 16];
                if record.len() <= few.len() {
                    for (slot, cell) in few.iter_mut().zip(record.iter()) {
                        *slot = trim_cell(cell);
                    }
                    visit(row, &few[..record.len()]);
                } else {
                    let cells: Vec<&str> = record.iter().map(trim_cell).collect();
                    visit(row, &cells);
                }
            }
            Ok(false) => return Ok(()),
            Err(e) => {
                return Err(match e.kind() {
                    csv::ErrorKind::Utf8 { .. } => format!(
                        "CSV row {}: not UTF-8 although the file begins as UTF-8: save it as \"CSV UTF-8\" and import again",
                        row + 1
                    ),
                    csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => NOT_UTF8_NOR_GBK.to_string(),
                    _ => format!("CSV row {}: {e}", row + 1),
                })
            }
        }
    }
}

/// GB18030 bytes in, UTF-8 out, a piece at a time; malformed input is an `InvalidData` error.
struct Gb18030Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    at: usize,
    ended: bool,
}

impl<R: std::io::Read> Gb18030Reader<R> {
    fn new(inner: R) -> Self {
        Gb18030Reader {
            inner,
            decoder: encoding_rs::GB18030.new_decoder_without_bom_handling(),
            input: Vec::new(),
            at: 0,
            ended: false,
        }
    }
}

impl<R: std::io::Read> std::io::Read for Gb18030Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        use encoding_rs::DecoderResult;
        // A GB18030 character is at most 4 bytes and becomes at most 4 bytes of UTF-8.
        if out.len() < 4 {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, "buffer too small"));
        }
        loop {
            if self.at == self.input.len() && !self.ended {
                self.input.resize(SNIFF, 0);
                let n = self.inner.read(&mut self.input)?;
                self.input.truncate(n);
                self.at = 0;
                self.ended = n == 0;
            }
            let (result, read, written) =
                self.decoder.decode_to_utf8_without_replacement(&self.input[self.at..], out, self.ended);
            self.at += read;
            match result {
                DecoderResult::Malformed(..) => {
                    return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, NOT_UTF8_NOR_GBK))
                }
                _ if written > 0 || self.ended => return Ok(written),
                _ => {}
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out a few bytes at a time, as pieces of a stream arrive.
    struct Trickle<'a>(&'a [u8], usize);

    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            self.1 = self.1 % 7 + 1;
            let n = self.1.min(out.len()).min(self.0.len());
            out[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    fn rows(bytes: &[u8]) -> Result<Vec<Vec<String>>, String> {
        let mut out = Vec::new();
        for_each_csv_row(Trickle(bytes, 0), |_, cells| out.push(cells.iter().map(|c| c.to_string()).collect()))?;
        Ok(out)
    }

    /// Enough rows to pass the part looked at for the encoding, Chinese on every row, so that
    /// characters are cut at every piece boundary.
    fn big(text_row: &str) -> (String, usize) {
        let n = SNIFF / text_row.len() * 3;
        (format!("户编号,姓名\n{}", text_row.repeat(n)), n + 1)
    }

    /// Cells are trimmed as `str::trim` does, on rows of up to 16 cells and on longer ones.
    #[test]
    fn cells_are_trimmed_on_short_and_long_rows() {
        let short = rows(" a ,b,\u{3000}c\u{3000}, ,,\"  d\"\n".as_bytes()).unwrap();
        assert_eq!(short, [["a", "b", "c", "", "", "d"]]);
        let long: Vec<String> = (0..20).map(|i| format!(" x{i}\t")).collect();
        let got = rows(format!("{}\n", long.join(",")).as_bytes()).unwrap();
        assert_eq!(got[0], (0..20).map(|i| format!("x{i}")).collect::<Vec<_>>());
    }

    #[test]
    fn utf8_with_and_without_bom_in_pieces() {
        let (text, n) = big("H1,王小明\n");
        let plain = rows(text.as_bytes()).unwrap();
        assert_eq!(plain.len(), n);
        assert_eq!(plain[0], ["户编号", "姓名"]);
        assert_eq!(plain[n - 1], ["H1", "王小明"]);
        let bom = rows(&[b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat()).unwrap();
        assert_eq!(bom, plain);
    }

    #[test]
    fn gbk_in_pieces_is_read_as_gb18030() {
        let (text, n) = big("H1,王小明\n");
        let (gbk, _, bad) = encoding_rs::GBK.encode(&text);
        assert!(!bad && std::str::from_utf8(&gbk).is_err());
        let got = rows(&gbk).unwrap();
        assert_eq!(got.len(), n);
        assert_eq!(got[n - 1], ["H1", "王小明"]);
        // The slice path reads the same.
        let mut whole = Vec::new();
        for_each_row(Format::Csv, &gbk, |_, c| whole.push(c.iter().map(|c| c.to_string()).collect::<Vec<_>>()))
            .unwrap();
        assert_eq!(whole, got);
    }

    #[test]
    fn neither_utf8_nor_gbk_is_refused() {
        let bad = rows(b"a,b\n\x81\x20,c\n").unwrap_err();
        assert!(bad.contains("neither UTF-8 nor GBK"), "{bad}");
        // UTF-8 at first, something else later: named by row.
        let (text, n) = big("H1,王\n");
        let late = rows(&[text.as_bytes(), b"H2,\xFF\xFE\n"].concat()).unwrap_err();
        assert!(late.contains(&format!("CSV row {}", n + 1)) && late.contains("UTF-8"), "{late}");
    }

    #[test]
    fn xlsx_rows_in_order_with_their_sheet_numbers() {
        let rows: Vec<Vec<String>> =
            vec![vec!["H1".into(), "".into(), "王".into()], vec!["H2".into(), "x".into(), "".into()]];
        let bytes = write(Format::Xlsx, &["户编号", "成员编号", "姓名"], rows.iter().map(|r| r.as_slice())).unwrap();
        let mut got = Vec::new();
        for_each_row(Format::Xlsx, &bytes, |n, c| got.push((n, c.iter().map(|c| c.to_string()).collect::<Vec<_>>())))
            .unwrap();
        assert_eq!(got[0], (1, vec!["户编号".to_string(), "成员编号".into(), "姓名".into()]));
        assert_eq!(got[1].0, 2);
        assert_eq!(got[1].1[0], "H1");
        assert_eq!(got[1].1.get(2).map(String::as_str), Some("王"));
        assert_eq!(got[2].0, 3);
        assert_eq!(got[2].1[..2], ["H2".to_string(), "x".into()]);
        assert!(for_each_row(Format::Xlsx, b"not a zip", |_, _| {}).unwrap_err().contains("XLSX"));
    }
}
