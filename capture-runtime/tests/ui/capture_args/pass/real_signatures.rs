//! Signatures that failed to compile on real crates (E0521, E0716) compile
//! as written, with no warning.
#![deny(warnings)]

use capture_runtime::capture_args;
use std::fmt;

pub struct Point {
    pub x: i32,
}

#[capture_args]
impl fmt::Display for Point {
    #[capture_args(ret)]
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}", self.x)
    }
}

#[capture_args]
pub fn write_plain(n: u32, f: &mut std::fmt::Formatter<'_>) -> fmt::Result {
    write!(f, "{n}")
}

pub struct Lexer<'a> {
    pub input: &'a str,
}

impl<'a> Lexer<'a> {
    #[capture_args(ret)]
    pub fn new(input: &'a str) -> Self {
        Lexer { input }
    }

    #[capture_args(ret)]
    pub fn split(input: &'a str) -> Vec<&'a str> {
        input.split(' ').collect()
    }
}

pub trait Shout {
    fn shout(&self) -> String;
}

#[capture_args]
impl Shout for str {
    #[capture_args(self, ret)]
    fn shout(&self) -> String {
        self.to_uppercase()
    }
}

#[deprecated(note = "old")]
#[capture_args(ret)]
pub fn old(x: u32) -> u32 {
    x
}

fn main() {
    println!("{}", Point { x: 1 });
    let _ = Lexer::new("a b").input;
    let _ = Lexer::split("a b");
    let _ = "a".shout();
    #[allow(deprecated)]
    let _ = old(1);
}
