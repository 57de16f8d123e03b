//! YAML 1.1 scalar resolution and construction, as PyYAML's `SafeLoader`
//! does it: which plain scalars are null, bool, int, float or timestamp
//! (the implicit resolvers' regular expressions, written out by hand), and
//! how each is turned into a value (`SafeConstructor.construct_yaml_*`).
//! Quoted and block scalars are always strings unless explicitly tagged.

use crate::node::{Date, DateTime, Value};

/// What an untagged plain scalar resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implicit {
    Null,
    Bool,
    Int,
    Float,
    Timestamp,
    /// `<<`: a merge key.
    Merge,
    /// `=`: PyYAML's `value` tag, which `safe_load` cannot construct.
    ValueTag,
    Str,
}

/// The implicit tag PyYAML's resolver gives a plain scalar.
pub fn implicit(s: &str) -> Implicit {
    if matches!(s, "" | "~" | "null" | "Null" | "NULL") {
        Implicit::Null
    } else if is_bool(s) {
        Implicit::Bool
    } else if is_int(s) {
        Implicit::Int
    } else if is_float(s) {
        Implicit::Float
    } else if is_timestamp(s) {
        Implicit::Timestamp
    } else if s == "<<" {
        Implicit::Merge
    } else if s == "=" {
        Implicit::ValueTag
    } else {
        Implicit::Str
    }
}

fn is_bool(s: &str) -> bool {
    matches!(
        s,
        "yes"
            | "Yes"
            | "YES"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
    )
}

fn unsign(s: &str) -> &str {
    s.strip_prefix(['-', '+']).unwrap_or(s)
}

fn all(s: &str, f: impl Fn(char) -> bool) -> bool {
    s.chars().all(f)
}

/// `(?::[0-5]?[0-9])+` over the text after the first group.
fn sexagesimal_tail(s: &str) -> bool {
    if !s.starts_with(':') {
        return false;
    }
    s[1..].split(':').all(|part| {
        let b = part.as_bytes();
        match b.len() {
            1 => b[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&b[0]) && b[1].is_ascii_digit(),
            _ => false,
        }
    })
}

fn is_int(s: &str) -> bool {
    let u = unsign(s);
    if let Some(rest) = u.strip_prefix("0b") {
        return !rest.is_empty() && all(rest, |c| matches!(c, '0' | '1' | '_'));
    }
    if let Some(rest) = u.strip_prefix("0x") {
        return !rest.is_empty() && all(rest, |c| c.is_ascii_hexdigit() || c == '_');
    }
    if let Some(rest) = u.strip_prefix('0') {
        return rest.is_empty() || all(rest, |c| matches!(c, '0'..='7' | '_'));
    }
    let Some(first) = u.chars().next() else {
        return false;
    };
    if !matches!(first, '1'..='9') {
        return false;
    }
    match u.find(':') {
        None => all(u, |c| c.is_ascii_digit() || c == '_'),
        Some(i) => all(&u[..i], |c| c.is_ascii_digit() || c == '_') && sexagesimal_tail(&u[i..]),
    }
}

/// `(?:[eE][-+][0-9]+)?` at the end of a float.
fn exponent_ok(e: &str) -> bool {
    if e.is_empty() {
        return true;
    }
    // Strip the marker by pattern, not by byte index: `e` may start with a
    // multi-byte character (`.0é`), which is simply not an exponent.
    let Some(rest) = e.strip_prefix(['e', 'E']) else {
        return false;
    };
    rest.starts_with(['-', '+']) && rest.len() > 1 && all(&rest[1..], |c| c.is_ascii_digit())
}

fn is_float(s: &str) -> bool {
    if matches!(s, ".nan" | ".NaN" | ".NAN") {
        return true;
    }
    let u = unsign(s);
    if matches!(u, ".inf" | ".Inf" | ".INF") {
        return true;
    }
    // \.[0-9][0-9_]*(?:[eE][-+][0-9]+)?  (unsigned only)
    if let Some(rest) = s.strip_prefix('.') {
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            return false;
        }
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '_'))
            .unwrap_or(rest.len());
        return exponent_ok(&rest[end..]);
    }
    if !u.starts_with(|c: char| c.is_ascii_digit()) {
        return false;
    }
    let Some(dot) = u.find('.') else {
        return false;
    };
    let (whole, frac) = (&u[..dot], &u[dot + 1..]);
    if let Some(colon) = whole.find(':') {
        // [0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*
        return all(&whole[..colon], |c| c.is_ascii_digit() || c == '_')
            && sexagesimal_tail(&whole[colon..])
            && all(frac, |c| c.is_ascii_digit() || c == '_');
    }
    // [0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?
    if !all(whole, |c| c.is_ascii_digit() || c == '_') {
        return false;
    }
    let end = frac
        .find(|c: char| !(c.is_ascii_digit() || c == '_'))
        .unwrap_or(frac.len());
    exponent_ok(&frac[end..])
}

/// `(negative, hours, minutes)` of an explicit offset; empty hours for `Z`.
type Offset<'a> = (bool, &'a str, &'a str);

/// `(hour, minute, second, fraction, offset)` of a timestamp with a time.
type Clock<'a> = (&'a str, &'a str, &'a str, &'a str, Option<Offset<'a>>);

/// Parts of a timestamp, per PyYAML's `timestamp_regexp`.
struct Stamp<'a> {
    year: &'a str,
    month: &'a str,
    day: &'a str,
    time: Option<Clock<'a>>,
}

fn digits(s: &str, min: usize, max: usize) -> (&str, &str) {
    let n = s.bytes().take(max).take_while(u8::is_ascii_digit).count();
    if n < min { ("", s) } else { s.split_at(n) }
}

fn parse_stamp(s: &str) -> Option<Stamp<'_>> {
    let (year, rest) = digits(s, 4, 4);
    let rest = rest.strip_prefix('-').filter(|_| !year.is_empty())?;
    let (month, rest) = digits(rest, 1, 2);
    let rest = rest.strip_prefix('-').filter(|_| !month.is_empty())?;
    let (day, rest) = digits(rest, 1, 2);
    if day.is_empty() {
        return None;
    }
    if rest.is_empty() {
        // The resolver wants exactly two digits for a bare date.
        return (month.len() == 2 && day.len() == 2).then_some(Stamp {
            year,
            month,
            day,
            time: None,
        });
    }
    let rest = if let Some(r) = rest.strip_prefix(['T', 't']) {
        r
    } else {
        let r = rest.trim_start_matches([' ', '\t']);
        if r.len() == rest.len() {
            return None;
        }
        r
    };
    let (hour, rest) = digits(rest, 1, 2);
    let rest = rest.strip_prefix(':').filter(|_| !hour.is_empty())?;
    let (minute, rest) = digits(rest, 2, 2);
    let rest = rest.strip_prefix(':').filter(|_| !minute.is_empty())?;
    let (second, mut rest) = digits(rest, 2, 2);
    if second.is_empty() {
        return None;
    }
    let mut fraction = "";
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.bytes().take_while(u8::is_ascii_digit).count();
        fraction = &r[..n];
        rest = &r[n..];
    }
    let rest = rest.trim_start_matches([' ', '\t']);
    let tz = if rest.is_empty() {
        None
    } else if rest == "Z" {
        Some((false, "", ""))
    } else {
        let negative = rest.starts_with('-');
        let r = rest.strip_prefix(['-', '+'])?;
        let (h, r) = digits(r, 1, 2);
        if h.is_empty() {
            return None;
        }
        let m = if r.is_empty() {
            ""
        } else {
            let (m, r) = digits(r.strip_prefix(':')?, 2, 2);
            if m.is_empty() || !r.is_empty() {
                return None;
            }
            m
        };
        Some((negative, h, m))
    };
    // A timestamp with time must not leave anything unmatched.
    if tz.is_none() && !rest.is_empty() {
        return None;
    }
    Some(Stamp {
        year,
        month,
        day,
        time: Some((hour, minute, second, fraction, tz)),
    })
}

fn is_timestamp(s: &str) -> bool {
    parse_stamp(s).is_some()
}

/// `construct_yaml_bool`: case-insensitive yes/no/true/false/on/off.
pub fn construct_bool(s: &str) -> Result<bool, String> {
    match s.to_lowercase().as_str() {
        "yes" | "true" | "on" => Ok(true),
        "no" | "false" | "off" => Ok(false),
        _ => Err("not a boolean".to_string()),
    }
}

fn parse_radix(s: &str, radix: u32) -> Result<i128, String> {
    if s.is_empty() {
        return Err("invalid integer".to_string());
    }
    i128::from_str_radix(s, radix).map_err(|e| match e.kind() {
        std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
            "integer out of range".to_string()
        }
        _ => "invalid integer".to_string(),
    })
}

/// `construct_yaml_int`: underscores dropped, `0b`, `0x`, leading-`0`
/// octal, sexagesimal `a:b:c`, else decimal.
pub fn construct_int(s: &str) -> Result<i128, String> {
    let v = s.replace('_', "");
    let sign: i128 = if v.starts_with('-') { -1 } else { 1 };
    let v = unsign(&v);
    let magnitude = if v == "0" {
        return Ok(0);
    } else if let Some(b) = v.strip_prefix("0b") {
        parse_radix(b, 2)?
    } else if let Some(x) = v.strip_prefix("0x") {
        parse_radix(x, 16)?
    } else if v.starts_with('0') {
        parse_radix(v, 8)?
    } else if v.contains(':') {
        let mut total: i128 = 0;
        let mut base: i128 = 1;
        for part in v.split(':').rev() {
            let digit = parse_radix(part, 10)?;
            total = digit
                .checked_mul(base)
                .and_then(|d| total.checked_add(d))
                .ok_or("integer out of range")?;
            base = base.saturating_mul(60);
        }
        total
    } else {
        parse_radix(v, 10)?
    };
    Ok(sign * magnitude)
}

/// Python's `float()` of an already cleaned literal.
fn py_float(s: &str) -> Result<f64, String> {
    let mut t = s.to_string();
    if t.starts_with('.') {
        t.insert(0, '0');
    }
    t = t.replace(".e", ".0e");
    if t.ends_with('.') {
        t.push('0');
    }
    t.parse::<f64>().map_err(|_| "invalid float".to_string())
}

/// `construct_yaml_float`.
pub fn construct_float(s: &str) -> Result<f64, String> {
    let v = s.replace('_', "").to_lowercase();
    let sign = if v.starts_with('-') { -1.0 } else { 1.0 };
    let v = unsign(&v);
    if v == ".inf" {
        Ok(sign * f64::INFINITY)
    } else if v == ".nan" {
        Ok(f64::NAN)
    } else if v.contains(':') {
        let mut value = 0.0;
        let mut base = 1.0;
        for part in v.split(':').rev() {
            value += py_float(part)? * base;
            base *= 60.0;
        }
        Ok(sign * value)
    } else {
        Ok(sign * py_float(v)?)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        _ => 28,
    }
}

fn make_date(year: i32, month: u32, day: u32) -> Result<Date, String> {
    if !(1..=9999).contains(&year) {
        return Err("year is out of range".to_string());
    }
    if !(1..=12).contains(&month) {
        return Err("month must be in 1..12".to_string());
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err("day is out of range for month".to_string());
    }
    Ok(Date { year, month, day })
}

/// Days since 1970-01-01 (proleptic Gregorian), and back.
fn days_from_civil(d: Date) -> i64 {
    let y = i64::from(d.year) - i64::from(d.month <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(d.month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d.day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> Date {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

/// `construct_yaml_timestamp`, as the appliance's PyYAML 3.x does it: a
/// bare date is a date; a time with an offset is shifted to UTC and left
/// naive; fractions are cut to microseconds.
pub fn construct_timestamp(s: &str) -> Result<Value, String> {
    let st = parse_stamp(s).ok_or("not a timestamp")?;
    let num = |t: &str| {
        t.parse::<u32>()
            .map_err(|_| "invalid timestamp".to_string())
    };
    let year = st.year.parse::<i32>().map_err(|_| "invalid timestamp")?;
    let date = make_date(year, num(st.month)?, num(st.day)?)?;
    let Some((h, mi, se, fraction, tz)) = st.time else {
        return Ok(Value::Date(date));
    };
    let (hour, minute, second) = (num(h)?, num(mi)?, num(se)?);
    if hour > 23 || minute > 59 || second > 59 {
        return Err("time is out of range".to_string());
    }
    let microsecond = if fraction.is_empty() {
        0
    } else {
        let mut f: String = fraction.chars().take(6).collect();
        while f.len() < 6 {
            f.push('0');
        }
        num(&f)?
    };
    let offset_minutes = match tz {
        Some((negative, h, m)) if !h.is_empty() => {
            let total = i64::from(num(h)?) * 60 + if m.is_empty() { 0 } else { i64::from(num(m)?) };
            if negative { -total } else { total }
        }
        _ => 0,
    };
    let minutes =
        days_from_civil(date) * 1440 + i64::from(hour) * 60 + i64::from(minute) - offset_minutes;
    let date = civil_from_days(minutes.div_euclid(1440));
    if !(1..=9999).contains(&date.year) {
        return Err("year is out of range".to_string());
    }
    let of_day = minutes.rem_euclid(1440);
    Ok(Value::DateTime(DateTime {
        date,
        hour: (of_day / 60) as u32,
        minute: (of_day % 60) as u32,
        second,
        microsecond,
    }))
}

/// Construct the value of an untagged plain scalar.
pub fn plain(s: &str) -> Result<Value, String> {
    Ok(match implicit(s) {
        Implicit::Null => Value::Null,
        Implicit::Bool => Value::Bool(construct_bool(s)?),
        Implicit::Int => Value::Int(construct_int(s)?),
        Implicit::Float => Value::Float(construct_float(s)?),
        Implicit::Timestamp => construct_timestamp(s)?,
        Implicit::Merge => {
            return Err(
                "could not determine a constructor for the tag 'tag:yaml.org,2002:merge'"
                    .to_string(),
            );
        }
        Implicit::ValueTag => {
            return Err(
                "could not determine a constructor for the tag 'tag:yaml.org,2002:value'"
                    .to_string(),
            );
        }
        Implicit::Str => Value::Str(s.to_string()),
    })
}

/// Construct a scalar carrying an explicit core tag (`!!int "12"`).
pub fn tagged(suffix: &str, s: &str) -> Result<Value, String> {
    Ok(match suffix {
        "str" => Value::Str(s.to_string()),
        "null" => Value::Null,
        "bool" => Value::Bool(construct_bool(s)?),
        "int" => Value::Int(construct_int(s)?),
        "float" => Value::Float(construct_float(s)?),
        "timestamp" => construct_timestamp(s)?,
        other => {
            return Err(format!(
                "the tag 'tag:yaml.org,2002:{other}' is not supported by ecsfleet"
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        plain(s).unwrap()
    }

    #[test]
    fn yaml11_nulls_and_bools() {
        for s in ["", "~", "null", "Null", "NULL"] {
            assert_eq!(v(s), Value::Null, "{s:?}");
        }
        for s in [
            "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE",
        ] {
            assert_eq!(v(s), Value::Bool(true), "{s}");
        }
        for s in [
            "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE",
        ] {
            assert_eq!(v(s), Value::Bool(false), "{s}");
        }
        for s in ["y", "n", "Y", "N", "yEs", "nULL", "tRUE"] {
            assert_eq!(v(s), Value::Str(s.into()), "{s}");
        }
    }

    #[test]
    fn yaml11_ints() {
        let cases = [
            ("0", 0),
            ("-0", 0),
            ("12", 12),
            ("+12", 12),
            ("-12", -12),
            ("1_000", 1000),
            ("0755", 0o755),
            ("0x1F", 31),
            ("-0x_1f", -31),
            ("0b101", 5),
            ("1:30", 90),
            ("190:20:30", 685_230),
            ("-1:00", -60),
        ];
        for (s, want) in cases {
            assert_eq!(v(s), Value::Int(want), "{s}");
        }
        for s in ["08", "0o755", "1:60", "0x", "1__a", "1:3:", "01:30"] {
            assert!(matches!(v(s), Value::Str(_)), "{s} should be a string");
        }
    }

    #[test]
    fn yaml11_floats() {
        let cases = [
            ("1.0", 1.0),
            ("1.", 1.0),
            (".5", 0.5),
            ("-1.5", -1.5),
            ("1_0.5", 10.5),
            ("6.8523015e+5", 685_230.15),
            ("190:20:30.15", 685_230.15),
            ("1.0e-3", 0.001),
        ];
        for (s, want) in cases {
            assert_eq!(v(s), Value::Float(want), "{s}");
        }
        assert_eq!(v(".inf"), Value::Float(f64::INFINITY));
        assert_eq!(v("-.Inf"), Value::Float(f64::NEG_INFINITY));
        assert!(matches!(v(".NaN"), Value::Float(x) if x.is_nan()));
        // YAML 1.1 wants a dot and a signed exponent.
        for s in ["1e3", "1.0e3", "._", ".", "-.5", "1.2.3"] {
            assert!(matches!(v(s), Value::Str(_)), "{s} should be a string");
        }
    }

    #[test]
    fn yaml11_timestamps() {
        assert_eq!(v("2001-12-14").to_string_py(), "2001-12-14");
        assert_eq!(
            v("2001-12-14t21:59:43.10-05:00").to_string_py(),
            "2001-12-15 02:59:43.100000"
        );
        assert_eq!(
            v("2001-12-14 21:59:43.10").to_string_py(),
            "2001-12-14 21:59:43.100000"
        );
        assert_eq!(
            v("2002-12-14 00:00:00 Z").to_string_py(),
            "2002-12-14 00:00:00"
        );
        assert_eq!(v("2001-1-1").to_string_py(), "2001-1-1");
        assert!(plain("2001-13-14").is_err());
        assert!(plain("2001-02-29").is_err());
        assert_eq!(v("2000-02-29").to_string_py(), "2000-02-29");
    }

    impl Value {
        fn to_string_py(&self) -> String {
            match self {
                Value::Date(d) => d.to_string(),
                Value::DateTime(d) => d.to_string(),
                Value::Str(s) => s.clone(),
                other => panic!("{other:?}"),
            }
        }
    }
}
