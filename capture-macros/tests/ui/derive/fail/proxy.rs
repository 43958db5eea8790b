use capture_runtime::Reducible;

#[derive(Reducible, Clone)]
#[reduce(into = "String")]
struct OnlyInto(String);

#[derive(Reducible)]
#[reduce(from = "String")]
struct OnlyFrom(String);

#[derive(Reducible, Clone)]
#[reduce(into = "String", from = "String", constructor = "Both::new")]
struct Both {
    #[reduce(skip)]
    a: String,
}

fn main() {}
