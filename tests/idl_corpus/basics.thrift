/**
 * Corpus: every base type, enums, structs, unions, exceptions, typedef chains, defaults,
 * constants of every kind, annotations and the legacy syntax Apache still accepts.
 */
namespace py corpus.basics
namespace cpp corpus.basics   // other languages' namespaces are ignored
namespace java com.example.corpus (java.annotation = "x")
cpp_include "<vector>"

# unix-style comment
/* block
   comment */

typedef i32 Count
typedef Count Tally                 // a typedef chain
typedef list<Tally> Tallies
typedef map<string, Tallies> TallyBook
typedef binary Blob (cpp.type = "std::string")
typedef i64 (cpp.type = "long") Stamp

enum Color {
  RED,
  GREEN = 5,
  BLUE,              // 6
  BLACK = -3;
  WHITE              // -2
  GREY = 0x10 (deprecated = "use WHITE")
} (cpp.enum_strict)

enum Empty {}

struct Point {
  1: required double x,
  2: required double y = 0.5;
  3: optional string label
}

struct Everything {
  1: bool a_bool = true,
  2: byte a_byte = -7,
  3: i8 an_i8 = 0x7f,
  4: i16 an_i16 = -32768,
  5: i32 an_i32 = 2147483647,
  6: i64 an_i64 = -9223372036854775808,
  7: double a_double = 1,
  8: double b_double = -2.5e-3,
  9: string a_string = "quote \" apostrophe \' tab \t newline \n back \\ end",
  10: string b_string = 'single "quoted"',
  11: binary a_binary = "bytes",
  12: Color a_color = Color.BLUE,
  13: Color b_color = 6,
  14: Tally tally = 3,
  15: Tallies tallies = [1, 2, 3],
  16: TallyBook book = {"b": [2], "a": [], "c": [3, 4]},
  17: set<string> names = ["x", "y", "x"],
  18: map<i32, string> by_number = {3: "three", 1: "one", 2: "two", 1: "uno"},
  19: list<map<string, set<i32>>> nested,
  20: Point origin = {"x": 0, "y": 0},
  21: list<Point> path = [{"x": 1, "y": 2, "label": "a"}],
  22: map<Color, list<Point>> by_color,
  23: Blob blob,
  24: Stamp stamp = 1234567890123,
  25: required string must,
  26: optional string maybe = "perhaps",
  27: map<string, i64> big = {"z": 1, "a": -1, "m": 0},
  28: list<double> doubles = [1, 2.5, -0.0, 1e3],
  29: set<Color> colors = [Color.RED, Color.GREEN],
  30: map<bool, byte> flags = {true: 1, false: 0},
} (final = "true")

union Choice {
  1: i64 number,
  2: string text,
  3: Point point,
  4: list<string> words,
}

exception Oops {
  1: string message,
  2: i32 code = 500,
  3: list<string> details = ["a"],
}

exception Nothing {}

struct WithRefs xsd_all {
  1: required Point & point,                 // the cpp reference marker
  2: list<i32> cpp_type "std::vector<int>" numbers,
  3: map cpp_type "std::map<int,int>" <i32, i32> mapping,
  4: set<i16> small xsd_optional xsd_nillable,
  5: string attrs xsd_attrs { 1: i32 ignored },
}

const i32 ANSWER = 42
const i64 BIG = 0x7fffffffffffffff;
const double PI = 3.14159
const double TEN = 10
const string GREETING = "hello"
const binary MAGIC = "\n\t"
const bool YES = true
const bool NO = 0
const Color FAVOURITE = Color.GREEN
const Color NUMBERED = 5
const i32 RED_NUMBER = Color.RED
const i32 ALIAS = ANSWER
const list<string> WORDS = ["a", "b"; "c"]
const set<i32> PRIMES = [2, 3, 5, 7, 3]
const map<string, Color> BY_NAME = {"red": Color.RED, "blue": Color.BLUE, "green": 5}
const map<i32, list<string>> MIXED = {10: ["ten"], -1: [], 2: ["two", "deux"]}
const Point ORIGIN = {"x": 0, "y": 0, "label": "origin"}
const list<Point> CORNERS = [{"x": 0, "y": 0}, {"x": 1, "y": 1}]
const Tallies SOME_TALLIES = [ANSWER, 7]
const Choice CHOSEN = {"text": "t"}

service Everything_Service {
  Everything echo(1: Everything value) (idempotent = "true"),
  Choice choose(1: Choice choice),
  void fail(1: i32 code) throws (1: Oops oops, 2: Nothing nothing),
}
