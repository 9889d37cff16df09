//! 附件4's contacts checked as a person fills them in: a mobile number (11 digits, 1[3-9]…), a
//! landline with its area code, an e-mail address; and when a department's list counts as
//! 已报 — a 分管领导 and a 工作人员, each with a name and a number that reaches them.

use crate::api::{Contact, ContactRole, Contacts};

/// Most 工作人员 附件4 allows beside the one 分管领导.
pub const MAX_STAFF: usize = 2;

/// A mainland mobile number: 11 digits starting 13–19 (spaces and dashes between groups allowed).
pub fn is_mobile(text: &str) -> bool {
    let digits: String = text.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    let d = digits.strip_prefix("+86").unwrap_or(&digits);
    d.len() == 11
        && d.starts_with('1')
        && matches!(d.as_bytes()[1], b'3'..=b'9')
        && d.bytes().all(|b| b.is_ascii_digit())
}

/// A landline with its area code: `0375-2661234`, `(0375)2661234`, `037512345678`, an
/// extension after `-` or `转`.
pub fn is_landline(text: &str) -> bool {
    let text = text.trim();
    let (number, extension) = match text.split_once('转') {
        Some((n, e)) => (n, Some(e)),
        None => (text, None),
    };
    if extension.is_some_and(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    let digits: String =
        number.chars().filter(|c| !matches!(c, ' ' | '-' | '(' | ')' | '（' | '）')).collect();
    digits.starts_with('0') && (10..=16).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

/// A local number within the city, 7 or 8 digits (`2588106`, as the notice itself gives one):
/// the city's area code is implied.
pub fn is_local(text: &str) -> bool {
    let digits: String = text.trim().chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    (7..=8).contains(&digits.len())
        && matches!(digits.as_bytes()[0], b'2'..=b'9')
        && digits.bytes().all(|b| b.is_ascii_digit())
}

/// The 电话、传真 field: one or more landlines, local numbers or mobiles, separated by 、 , ; /
/// or spaces, each optionally labelled 电话 or 传真.
pub fn is_phone_field(text: &str) -> bool {
    let parts: Vec<&str> = text
        .split(['、', ',', '，', ';', '；', '/'])
        .map(|p| {
            p.trim().trim_start_matches("电话").trim_start_matches("传真").trim_matches([':', '：', ' '])
        })
        .filter(|p| !p.is_empty())
        .collect();
    !parts.is_empty() && parts.iter().all(|p| is_landline(p) || is_local(p) || is_mobile(p))
}

/// An e-mail address, as far as a form can tell: one `@`, something before it, a dotted domain.
pub fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.trim().split_once('@') else { return false };
    !local.is_empty()
        && !domain.contains('@')
        && domain.split('.').count() >= 2
        && domain.split('.').all(|p| !p.is_empty())
        && !text.trim().contains(char::is_whitespace)
}

/// The fields of one contact that are wrong, with what to write instead.
pub fn problems(c: &Contact) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    if c.name.trim().is_empty() {
        out.push(("name", "请填写姓名"));
    }
    if !c.mobile.trim().is_empty() && !is_mobile(&c.mobile) {
        out.push(("mobile", "手机号码应为 11 位数字，以 13 至 19 开头"));
    }
    if !c.phone.trim().is_empty() && !is_phone_field(&c.phone) {
        out.push(("phone", "请填写电话，如 0375-2661234，本市电话也可写 2661234"));
    }
    if !c.email.trim().is_empty() && !is_email(&c.email) {
        out.push(("email", "邮箱格式不正确，如 name@example.gov.cn"));
    }
    if c.mobile.trim().is_empty() && c.phone.trim().is_empty() {
        out.push(("mobile", "请至少填写手机或电话之一"));
    }
    out
}

/// Whether a contact can be reached: a name and a valid mobile or phone.
pub fn reachable(c: &Contact) -> bool {
    !c.name.trim().is_empty() && (is_mobile(&c.mobile) || is_phone_field(&c.phone))
}

/// 已报: a reachable 分管领导 and a reachable 工作人员.
pub fn filed(contacts: &Contacts) -> bool {
    [ContactRole::Leader, ContactRole::Staff]
        .iter()
        .all(|role| contacts.contacts.iter().any(|c| c.role == *role && reachable(c)))
}

/// What is wrong with a list as a whole (how many of each role), in Chinese.
pub fn list_problem(contacts: &Contacts) -> Option<&'static str> {
    let count = |role| contacts.contacts.iter().filter(|c| c.role == role).count();
    if count(ContactRole::Leader) > 1 {
        Some("分管领导只填 1 名")
    } else if count(ContactRole::Staff) > MAX_STAFF {
        Some("工作人员最多填 2 名")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_addresses_as_offices_write_them() {
        for ok in ["13800000000", "138 0000 0000", "+86 13912345678", "199-1234-5678"] {
            assert!(is_mobile(ok), "{ok}");
        }
        for bad in ["1380000000", "12800000000", "23800000000", "1380000000a", ""] {
            assert!(!is_mobile(bad), "{bad}");
        }
        for ok in ["0375-2661234", "(0375)2661234", "（0375）26612345", "037526612345", "0371-6662 1234转801"]
        {
            assert!(is_landline(ok), "{ok}");
        }
        for bad in ["2661234", "0375", "0375-26612a4", "0375-2661234转"] {
            assert!(!is_landline(bad), "{bad}");
        }
        assert!(is_phone_field("电话0375-2661234、传真0375-2661235"));
        assert!(is_phone_field("0375-2661234 / 13800000000"));
        assert!(is_phone_field("2588106"), "the notice's own number");
        assert!(is_phone_field("电话2661234、传真26612356"));
        for bad in ["258810", "125881060", "0588106"] {
            assert!(!is_phone_field(bad), "{bad}");
        }
        assert!(!is_phone_field("找办公室"));
        assert!(is_email("zhang.san@pds.gov.cn"));
        for bad in ["zhang", "@pds.gov.cn", "a@b", "a@b..cn", "a b@pds.gov.cn"] {
            assert!(!is_email(bad), "{bad}");
        }
    }

    #[test]
    fn names_alone_are_not_filed() {
        let person = |role, name: &str, mobile: &str| Contact {
            role,
            name: name.into(),
            gender: String::new(),
            unit: String::new(),
            position: String::new(),
            phone: String::new(),
            mobile: mobile.into(),
            email: String::new(),
        };
        let names = Contacts {
            department: None,
            contacts: vec![person(ContactRole::Leader, "张伟", ""), person(ContactRole::Staff, "李娜", "")],
        };
        assert!(!filed(&names));
        let reachable = Contacts {
            department: None,
            contacts: vec![
                person(ContactRole::Leader, "张伟", "13800000001"),
                person(ContactRole::Staff, "李娜", "13800000002"),
            ],
        };
        assert!(filed(&reachable));
        assert_eq!(
            problems(&person(ContactRole::Staff, "李娜", "1380000")),
            [("mobile", "手机号码应为 11 位数字，以 13 至 19 开头")]
        );
    }
}
