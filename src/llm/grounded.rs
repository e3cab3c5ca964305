//! Whether a text the model wrote states only numbers its sources state. A narrative or an
//! answer that invents a figure (a sum nobody computed, a percentage, a rounded total) is
//! dropped by its caller and the computed text goes out alone.

/// The numbers in `text` that none of `sources` contains, as written in `text`. Numbers are
/// compared by value, so "$1,204.50" matches "1204.5"; a number written in words is not a
/// number here.
pub fn invented_numbers(text: &str, sources: &[&str]) -> Vec<String> {
    let known: Vec<f64> = sources.iter().flat_map(|s| numbers(s)).map(|(_, v)| v).collect();
    numbers(text)
        .into_iter()
        .filter(|(_, value)| !known.iter().any(|k| (k - value).abs() < 1e-9))
        .map(|(written, _)| written)
        .collect()
}

/// How many numbers `text` states.
pub fn numbers_in(text: &str) -> usize {
    numbers(text).len()
}

/// Every number in `text`, as written and as a value: digits with thousands commas and one
/// decimal point (`1,204.50`, `3`, `12.5`). A sign is not part of it: "down 12%" and "-12%"
/// both state 12.
fn numbers(text: &str) -> Vec<(String, f64)> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        let mut seen_point = false;
        while i < chars.len() {
            let c = chars[i];
            let next_is_digit = chars.get(i + 1).is_some_and(char::is_ascii_digit);
            if c.is_ascii_digit() || (c == ',' && next_is_digit && !seen_point) {
                i += 1;
            } else if c == '.' && next_is_digit && !seen_point {
                seen_point = true;
                i += 1;
            } else {
                break;
            }
        }
        let written: String = chars[start..i].iter().collect();
        if let Ok(value) = written.replace(',', "").parse::<f64>() {
            found.push((written, value));
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = "Sales for Tue Dec 1: $1,204.50 from 37 orders (12% above a usual Tuesday). \
                           Top seller: Oat Milk 1L, 18 sold.";

    #[test]
    fn numbers_from_the_summary_pass_in_any_spelling() {
        let narrative = "A strong Tuesday: 1204.50 dollars from 37 orders, 12% above usual, led by 18 Oat Milk 1L.";
        assert_eq!(invented_numbers(narrative, &[SUMMARY]), Vec::<String>::new());
        assert_eq!(invented_numbers("Sales were $1,204.5.", &[SUMMARY]), Vec::<String>::new());
    }

    #[test]
    fn an_invented_number_is_named() {
        assert_eq!(invented_numbers("About $1,200 from 37 orders.", &[SUMMARY]), vec!["1,200"]);
        assert_eq!(invented_numbers("Average basket $32.55.", &[SUMMARY]), vec!["32.55"]);
        assert_eq!(invented_numbers("Sales were 15% up.", &[SUMMARY]), vec!["15"]);
    }

    #[test]
    fn numbers_are_read_whole() {
        let values: Vec<f64> = numbers("1,204.50, 3. and 2.5.6").into_iter().map(|(_, v)| v).collect();
        assert_eq!(values, vec![1204.5, 3.0, 2.5, 6.0]);
    }
}
