//! The request timestamp: `X-Amz-Date` (ISO 8601 basic, `20130524T000000Z`) or, as a fallback
//! for header auth, the HTTP `Date` header (IMF-fixdate, `Fri, 24 May 2013 00:00:00 GMT`).

use std::fmt;

/// A UTC instant with one-second resolution, as SigV4 uses it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct AmzDate {
    year: u16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// `YYYYMMDDTHHMMSSZ`, written once: every signature and scope on the request path reads it.
    text: [u8; 16],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidDate;

impl AmzDate {
    /// Parses `YYYYMMDDTHHMMSSZ`.
    pub fn parse(s: &[u8]) -> Result<Self, InvalidDate> {
        if s.len() != 16 || s[8] != b'T' || s[15] != b'Z' {
            return Err(InvalidDate);
        }
        Self::new(
            digits(&s[0..4])?,
            digits(&s[4..6])?,
            digits(&s[6..8])?,
            digits(&s[9..11])?,
            digits(&s[11..13])?,
            digits(&s[13..15])?,
        )
    }

    /// Parses an HTTP date: the IMF-fixdate of RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`),
    /// the only form a SigV4 client may put in `Date`, or the same with a numeric zone
    /// (`Tue, 27 Mar 2007 19:36:42 +0000`, RFC 2822) as SigV2 clients send it.
    pub fn parse_http_date(s: &[u8]) -> Result<Self, InvalidDate> {
        // "Sun, 06 Nov 1994 08:49:37 GMT"
        //  0    5  8    13   18 21 24 26
        if s.len() < 29 || &s[3..5] != b", " || s[25] != b' ' {
            return Err(InvalidDate);
        }
        if s[7] != b' ' || s[11] != b' ' || s[16] != b' ' || s[19] != b':' || s[22] != b':' {
            return Err(InvalidDate);
        }
        let offset_seconds: i64 = match &s[26..] {
            b"GMT" | b"UTC" => 0,
            [sign @ (b'+' | b'-'), zone @ ..] if zone.len() == 4 => {
                let (hours, minutes) = (digits(&zone[..2])?, digits(&zone[2..])?);
                if hours >= 24 || minutes >= 60 {
                    return Err(InvalidDate);
                }
                let minutes = i64::from(hours) * 60 + i64::from(minutes);
                if *sign == b'+' {
                    minutes * 60
                } else {
                    -minutes * 60
                }
            }
            _ => return Err(InvalidDate),
        };
        const MONTHS: [&[u8; 3]; 12] = [
            b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov",
            b"Dec",
        ];
        let month = MONTHS
            .iter()
            .position(|m| &s[8..11] == *m)
            .ok_or(InvalidDate)?;
        let local = Self::new(
            digits(&s[12..16])?,
            month as u32 + 1,
            digits(&s[5..7])?,
            digits(&s[17..19])?,
            digits(&s[20..22])?,
            digits(&s[23..25])?,
        )?;
        if offset_seconds == 0 {
            return Ok(local);
        }
        let utc = u64::try_from(local.unix_seconds() - offset_seconds).map_err(|_| InvalidDate)?;
        // The zone can carry a date across the years AmzDate holds (9999-12-31 at -2359).
        let date = Self::from_unix_seconds(utc);
        if date.year > 9999 {
            return Err(InvalidDate);
        }
        Ok(date)
    }

    pub fn from_unix_seconds(secs: u64) -> Self {
        let days = (secs / 86_400) as i64;
        let rem = secs % 86_400;
        let (year, month, day) = civil_from_days(days);
        AmzDate::of(
            year as u16,
            month as u8,
            day as u8,
            (rem / 3600) as u8,
            (rem % 3600 / 60) as u8,
            (rem % 60) as u8,
        )
    }

    pub fn unix_seconds(&self) -> i64 {
        days_from_civil(self.year.into(), self.month.into(), self.day.into()) * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The `YYYYMMDD` part that opens the credential scope.
    pub fn date_stamp(&self) -> DateStamp {
        let mut stamp = [0; 8];
        stamp.copy_from_slice(&self.text[..8]);
        DateStamp(stamp)
    }

    /// `YYYYMMDDTHHMMSSZ` as bytes.
    pub fn text(&self) -> [u8; 16] {
        self.text
    }

    fn of(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Self {
        let mut date = AmzDate {
            year,
            month,
            day,
            hour,
            minute,
            second,
            text: [0; 16],
        };
        date.text = date.format();
        date
    }

    /// Written without formatting machinery (on every request's path).
    fn format(&self) -> [u8; 16] {
        let mut out = *b"00000000T000000Z";
        let mut put = |at: usize, width: usize, mut value: u32| {
            for i in (0..width).rev() {
                out[at + i] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        put(0, 4, u32::from(self.year));
        put(4, 2, u32::from(self.month));
        put(6, 2, u32::from(self.day));
        put(9, 2, u32::from(self.hour));
        put(11, 2, u32::from(self.minute));
        put(13, 2, u32::from(self.second));
        out
    }

    fn new(
        year: u32,
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    ) -> Result<Self, InvalidDate> {
        let valid = (1970..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month)
            && hour < 24
            && minute < 60
            && second < 60;
        if !valid {
            return Err(InvalidDate);
        }
        Ok(AmzDate::of(
            year as u16,
            month as u8,
            day as u8,
            hour as u8,
            minute as u8,
            second as u8,
        ))
    }
}

/// Formats as `YYYYMMDDTHHMMSSZ`, the form the string to sign carries.
impl fmt::Display for AmzDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text is ASCII digits, `T` and `Z`.
        f.write_str(std::str::from_utf8(&self.text()).unwrap_or_default())
    }
}

fn digits(s: &[u8]) -> Result<u32, InvalidDate> {
    s.iter().try_fold(0u32, |acc, &b| {
        if b.is_ascii_digit() {
            Ok(acc * 10 + u32::from(b - b'0'))
        } else {
            Err(InvalidDate)
        }
    })
}

fn days_in_month(year: u32, month: u32) -> u32 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's proleptic-Gregorian day-count algorithms ("chrono-Compatible Low-Level
// Date Algorithms"); valid for every date AmzDate can hold.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `YYYYMMDD`, held inline: it is on every request's path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateStamp([u8; 8]);

impl std::ops::Deref for DateStamp {
    type Target = str;

    fn deref(&self) -> &str {
        // Digits only, by construction.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for DateStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self)
    }
}

impl PartialEq<&str> for DateStamp {
    fn eq(&self, other: &&str) -> bool {
        **self == **other
    }
}

impl PartialEq<DateStamp> for &str {
    fn eq(&self, other: &DateStamp) -> bool {
        **self == **other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_formats_the_basic_form() {
        for leap_day in [
            &b"20000229T000000Z"[..],
            b"20240229T000000Z",
            b"24000229T000000Z",
        ] {
            assert!(AmzDate::parse(leap_day).is_ok(), "{leap_day:?}");
        }
        assert!(AmzDate::parse(b"20130430T000000Z").is_ok());
        let d = AmzDate::parse(b"20130524T000000Z").unwrap();
        assert_eq!(d.to_string(), "20130524T000000Z");
        assert_eq!(d.date_stamp(), "20130524");
        assert_eq!(d.unix_seconds(), 1_369_353_600);
    }

    #[test]
    fn http_date_matches_the_basic_form() {
        let a = AmzDate::parse_http_date(b"Fri, 24 May 2013 00:00:00 GMT").unwrap();
        assert_eq!(a, AmzDate::parse(b"20130524T000000Z").unwrap());
        let b = AmzDate::parse_http_date(b"Sun, 30 Aug 2015 12:36:00 GMT").unwrap();
        assert_eq!(b.to_string(), "20150830T123600Z");
        let v2 = AmzDate::parse_http_date(b"Tue, 27 Mar 2007 19:36:42 +0000").unwrap();
        assert_eq!(v2.to_string(), "20070327T193642Z");
        let east = AmzDate::parse_http_date(b"Wed, 28 Mar 2007 01:06:42 +0530").unwrap();
        assert_eq!(east, v2);
        let west = AmzDate::parse_http_date(b"Tue, 27 Mar 2007 14:36:42 -0500").unwrap();
        assert_eq!(west, v2);
    }

    #[test]
    fn rejects_malformed_dates() {
        for bad in [
            &b""[..],
            b"20130524T000000",
            b"20130524 000000Z",
            b"2013052AT000000Z",
            b"20130230T000000Z",
            // Thirty-day months and the century rule, which no test held (cargo-mutants): a
            // date that does not exist has no place in a signature's window.
            b"20130431T000000Z",
            b"20131131T000000Z",
            b"20230229T000000Z",
            b"19000229T000000Z",
            b"21000229T000000Z",
            b"20131301T000000Z",
            b"20130524T240000Z",
            b"20130524T006000Z",
            b"+0130524T000000Z",
            b"20130524T000000Z ",
        ] {
            assert_eq!(AmzDate::parse(bad), Err(InvalidDate), "{:?}", bad);
        }
        assert!(AmzDate::parse_http_date(b"Fri, 24 Foo 2013 00:00:00 GMT").is_err());
        assert!(AmzDate::parse_http_date(b"Fri, 24 May 2013 00:00:00 EST").is_err());
        assert!(AmzDate::parse_http_date(b"Fri, 24 May 2013 00:00:00 +2400").is_err());
        assert!(AmzDate::parse_http_date(b"Fri, 24 May 2013 00:00:00 +01").is_err());
        assert!(AmzDate::parse_http_date(b"Fri, 24 May 2013 00:00:00 +0099").is_err());
        // A zone may not carry the date past the last year AmzDate writes in four digits.
        assert!(AmzDate::parse_http_date(b"Fri, 31 Dec 9999 23:59:59 -2359").is_err());
        assert!(AmzDate::parse_http_date(b"Fri, 31 Dec 9999 23:59:59 +2359").is_ok());
        assert!(AmzDate::parse_http_date(b"Friday, 24-May-13 00:00:00 GMT").is_err());
    }

    /// Each separator of an HTTP date is checked on its own, and a date cut short anywhere is
    /// refused, not read past its end: cargo-mutants joined the checks with `&&` unnoticed,
    /// which takes `Fri; 24 May…` and panics on a short `Date`.
    #[test]
    fn http_dates_need_every_separator_and_every_byte() {
        let good = b"Fri, 24 May 2013 00:00:00 GMT";
        assert!(AmzDate::parse_http_date(good).is_ok());
        for at in [3, 4, 7, 11, 16, 19, 22, 25] {
            let mut bad = *good;
            bad[at] = b'x';
            assert_eq!(AmzDate::parse_http_date(&bad), Err(InvalidDate), "{at}");
        }
        for len in 0..good.len() {
            assert_eq!(
                AmzDate::parse_http_date(&good[..len]),
                Err(InvalidDate),
                "{len}"
            );
        }
    }

    /// The day count holds for every year AmzDate takes, 1970 to 9999, not only for the
    /// years near now: a client chooses `X-Amz-Date`, and a far date miscounted could land in
    /// the window of requests accepted (the round trip below stops at 2100, before the day
    /// the 400-year cycle ends, 2400-02-29).
    #[test]
    fn unix_seconds_hold_from_1970_to_9999() {
        for (text, secs) in [
            (&b"19700101T000000Z"[..], 0),
            (b"23991231T000000Z", 13_569_379_200),
            (b"24000229T000000Z", 13_574_563_200),
            (b"24000301T000000Z", 13_574_649_600),
            (b"99991231T235959Z", 253_402_300_799),
        ] {
            let date = AmzDate::parse(text).unwrap();
            assert_eq!(date.unix_seconds(), secs, "{date}");
            assert_eq!(AmzDate::from_unix_seconds(secs as u64), date);
        }
        for secs in (0..253_402_300_800u64).step_by(86_399 * 365 * 7 + 13) {
            let d = AmzDate::from_unix_seconds(secs);
            assert_eq!(d.unix_seconds() as u64, secs);
            assert_eq!(AmzDate::parse(d.to_string().as_bytes()), Ok(d));
        }
    }

    /// A credential's scope date is compared with the request's day as `&str == DateStamp`
    /// (verify.rs, post_policy/verify.rs): it must hold for that day only, whichever side it is
    /// on, or a signing key derived for one day signs requests dated any other (cargo-mutants:
    /// both comparisons made `true`, or the scope's made `false` or `!=`, unnoticed by the
    /// unit tests, which compared with `assert_eq!` alone).
    #[test]
    fn a_date_stamp_equals_its_own_day_only() {
        let stamp = AmzDate::parse(b"20130524T235959Z").unwrap().date_stamp();
        assert!("20130524" == stamp);
        assert!(stamp == "20130524");
        for other in ["20130525", "20130523", "2013052", "201305240", ""] {
            assert!(other != stamp, "{other}");
            assert!(stamp != other, "{other}");
        }
        assert_eq!(stamp.to_string(), "20130524");
        assert_eq!(format!("{stamp}/s3"), "20130524/s3");
    }

    #[test]
    fn unix_round_trip_over_leap_years_and_month_ends() {
        for secs in (0..4_102_444_800u64).step_by(86_399 * 7 + 13) {
            let d = AmzDate::from_unix_seconds(secs);
            assert_eq!(d.unix_seconds() as u64, secs);
            assert_eq!(AmzDate::parse(d.to_string().as_bytes()), Ok(d));
            assert_eq!(
                &*d.date_stamp(),
                format!("{:04}{:02}{:02}", d.year, d.month, d.day)
            );
        }
        assert_eq!(
            AmzDate::from_unix_seconds(951_782_400).to_string(),
            "20000229T000000Z"
        );
    }
}
