"""Rosters as Canvas, Moodle, Blackboard and D2L export them, and the simple CSV.

Each sample file is written with the columns the LMS's own documentation and exports use;
the expected students are read off those sample rows by hand.
"""

from __future__ import annotations

import pytest

from autograder.rosters import (
    canvas_file_name,
    default_roster_path,
    detect_format,
    read_lms_roster,
    read_roster,
    write_roster,
)

CANVAS = (
    "Student,ID,SIS User ID,SIS Login ID,Section,Gradient descent (88123),Current Score\n"
    "    Points Possible,,,,,10.00,(read only)\n"
    '"Núñez, José",12380,S-0042,jnunez,Section 1,,\n'
    '"Wang, Wei",12381,,,Section 1,7,\n'
    '"Student, Test",99999,,,Section 1,,\n'
)
MOODLE = (
    "Identifier,Full name,Username,Email address,Status,Grade,Maximum Grade,"
    "Grade can be changed,Last modified (submission),Last modified (grade),Feedback comments\n"
    "Participant 12345,José Núñez,jnunez,jose@uni.example,Submitted for grading,,10.00,Yes,"
    '"Monday, 2 March 2026, 10:00 AM",-,\n'
    "Participant 12346,Ada Lovelace,alovelace,ada@uni.example,No submission,,10.00,Yes,-,-,\n"
)
BLACKBOARD = (
    '"Last Name","First Name","Username","Student ID","Last Access","Availability",'
    '"Gradient descent [Total Pts: 10 Score] |4471"\n'
    '"Lovelace","Ada","alovelace","900123","2026-03-01","Available",""\n'
)
D2L = (
    "OrgDefinedId,Username,Last Name,First Name,Email,"
    "Gradient descent Points Grade <Numeric MaxPoints:10>,End-of-Line Indicator\n"
    "#20067930,#Frank.Catcher,Catcher,Frank,frank@uni.example,,#\n"
)


def write(tmp_path, text, name="roster.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_canvas_gradebook_export_skips_points_possible_and_the_test_student(tmp_path):
    roster = read_roster(write(tmp_path, CANVAS))
    assert sorted(roster) == ["12381", "jnunez"]  # login; Canvas ID when there is no SIS id
    jose = roster["jnunez"]
    assert (jose["first_name"], jose["last_name"]) == ("José", "Núñez")
    assert set(jose["aliases"]) == {"12380", "S-0042", "núñezjosé"}
    assert set(roster["12381"]["aliases"]) == {"wangwei"}


def test_canvas_file_name_keeps_letters_beyond_ascii():
    assert canvas_file_name("Núñez, José") == "núñezjosé"
    assert canvas_file_name("王, 伟") == "王伟"
    assert canvas_file_name("O'Brien-Smith, Mary Ann") == "obriensmithmaryann"


def test_canvas_roster_keeps_the_points_possible_row_and_whole_rows(tmp_path):
    lms = read_lms_roster(write(tmp_path, CANVAS))
    assert lms.format == "canvas"
    assert lms.preamble[0][0].strip() == "Points Possible"
    assert lms.rows["jnunez"]["Section"] == "Section 1"


def test_moodle_participant_numbers_are_aliases_not_student_ids(tmp_path):
    roster = read_roster(write(tmp_path, MOODLE))
    assert sorted(roster) == ["alovelace", "jnunez"]
    assert not any(student.startswith("Participant") for student in roster)
    jose = roster["jnunez"]
    assert jose["email"] == "jose@uni.example"
    assert set(jose["aliases"]) == {"12345", "José Núñez"}


def test_moodle_worksheet_without_identity_columns_is_refused(tmp_path):
    bare = ("Identifier,Full name,Status,Grade,Maximum Grade\n"
            "Participant 1,Ada Lovelace,Submitted,,10\n")
    path = write(tmp_path, bare)
    with pytest.raises(ValueError, match=r"roster.csv: line 1: .*Username, ID number or Email"):
        read_roster(path)


def test_moodle_worksheet_falls_back_to_email_and_names_a_bad_identifier(tmp_path):
    text = ("Identifier,Full name,Email address,Status,Grade\n"
            "Participant 7,Ada Lovelace,ada@uni.example,Submitted,\n"
            "12,Bo Bell,bo@uni.example,Submitted,\n")
    with pytest.raises(ValueError, match=r"line 3: Identifier '12'"):
        read_roster(write(tmp_path, text))
    roster = read_roster(write(tmp_path, text.rsplit("12,", 1)[0]))
    assert list(roster) == ["ada@uni.example"]


def test_blackboard_download_tab_delimited_utf16(tmp_path):
    tabbed = BLACKBOARD.replace('","', '"\t"')
    path = write(tmp_path, "\ufeff" + tabbed, name="gc_download.xls", encoding="utf-16-le")
    lms = read_lms_roster(path)
    assert lms.format == "blackboard"
    assert lms.students == {"alovelace": {"first_name": "Ada", "last_name": "Lovelace",
                                          "email": "", "aliases": ["900123"]}}


def test_d2l_export_drops_the_hash_prefix(tmp_path):
    roster = read_roster(write(tmp_path, D2L))
    assert list(roster) == ["Frank.Catcher"]
    assert roster["Frank.Catcher"]["aliases"] == ["20067930", "Frank Catcher"]
    assert roster["Frank.Catcher"]["email"] == "frank@uni.example"


def test_d2l_class_list_with_spaced_header(tmp_path):
    text = ("Org Defined ID,Username,Last Name,First Name,Email,Role\n"
            "123,fc,Catcher,Frank,,Learner\n")
    assert detect_format(text.split("\n")[0].split(",")) == "d2l"
    assert read_roster(write(tmp_path, text))["fc"]["aliases"] == ["123", "Frank Catcher"]


def test_simple_csv_round_trips_with_aliases(tmp_path):
    roster = {"ada": {"first_name": "Ada", "last_name": "L", "email": "a@x",
                      "aliases": ["101", "Ada L"]},
              "bo": {"first_name": "", "last_name": "", "email": "", "aliases": []}}
    path = tmp_path / "kept.csv"
    write_roster(path, roster)
    assert read_roster(path) == roster


def test_simple_csv_with_a_name_column_and_one_without_a_header(tmp_path):
    roster = read_roster(write(tmp_path, "login,name\nada,Ada Lovelace\n"))
    assert roster["ada"]["first_name"] == "Ada" and roster["ada"]["last_name"] == "Lovelace"
    assert sorted(read_roster(write(tmp_path, "ada\nbo\n", name="ids.csv"))) == ["ada", "bo"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("student_id,first_name\nada,Ada\n,Bo\n", r"line 3 has no student id"),
        ("student_id\nada\nbo\nada\n", r"line 4 repeats student id 'ada'"),
        ("Student,ID,SIS User ID,SIS Login ID,Section\n\"Lovelace, Ada\",,,,S\n",
         r"line 2 has no Canvas ID"),
        ('"Last Name","First Name","Username"\n"L","Ada",""\n', r"line 2 has no Username"),
    ],
)
def test_malformed_rosters_name_the_file_and_line(tmp_path, text, message):
    path = write(tmp_path, text, name="class.csv")
    with pytest.raises(ValueError, match=r"class\.csv: " + message):
        read_roster(path)


def test_a_binary_file_is_a_clear_error(tmp_path):
    path = tmp_path / "roster.xlsx"
    path.write_bytes(b"PK\x03\x04\xff\xfe\x00\x9f" * 4)
    with pytest.raises(ValueError, match="roster.xlsx: not a UTF-8 or UTF-16 text file"):
        read_roster(path)


def test_the_merged_roster_lives_in_the_import_folder(tmp_path):
    assert default_roster_path(tmp_path) == tmp_path / ".import" / "roster.csv"
