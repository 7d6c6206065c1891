"""Lecture 06 (CNN motivation): do its autograded tests tell right answers from wrong ones?

Parameter counts, cross-correlation with stride and padding, output sizes, edge kernels,
template matching, circular correlation and im2col each get three typical slips (flipped
kernel, off-by-one sizes, swapped axes) and one correct answer written another way. Where the
text asks for integers, a float loses the points (the visible test says so). corr2d,
corr2d_general and im2col must be written without nnlab.layers.conv: an answer that calls it
loses that exercise only, and honest notebooks (a scratch cell comparing with Conv2D, a local
variable named Conv2D) keep every point.
"""

from __future__ import annotations

import pytest

from tests.support.grading import cells_for, grade_all, variant
from tests.support.validity import GradingValidity, PartialCredit, assert_full_automatic_marks
from tests.support.visible import assert_says_format_only, visible_output, with_scratch_cell

ASSIGNMENT = "06-cnn-motivation"

PARAM_COUNTS = '''
def dense_param_count(input_shape, n_units):
    d_in = 1
    for size in input_shape:
        d_in *= size
    return {dense}


def conv_param_count(in_channels, out_channels, kernel_size):
    return {conv}
'''

CORR2D = '''
def corr2d(x, k):
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    kh, kw = k.shape
    out = np.zeros((x.shape[0] - kh + {plus}, x.shape[1] - kw + {plus}))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * {kernel})
    return out
'''

CONV_OUTPUT_SIZE = '''
def conv_output_size(n, k, stride=1, padding=0):
    return {formula}
'''

CORR2D_GENERAL = '''
def corr2d_general(x, k, stride=1, padding=0):
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    xp = np.pad(x, {pad})
    kh, kw = k.shape
    out_h = (xp.shape[0] - kh) // stride + {plus}
    out_w = (xp.shape[1] - kw) // stride + {plus}
    out = np.zeros((out_h, out_w))
    for i in range(out_h):
        for j in range(out_w):
            window = xp[i * stride:i * stride + kh, j * stride:j * stride + kw]
            out[i, j] = np.sum(window * {kernel})
    return out
'''

EDGE_KERNELS = '''
vertical_edge_kernel = np.array({vertical}, dtype=float)
horizontal_edge_kernel = np.array({horizontal}, dtype=float)
'''
SOBEL_X = "[[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]"
SOBEL_Y = "[[-1, -2, -1], [0, 0, 0], [1, 2, 1]]"
LAPLACIAN = "[[0, 1, 0], [1, -4, 1], [0, 1, 0]]"

LOCATE_TEMPLATE = '''
def locate_template(image, template):
    image = np.asarray(image, dtype=float)
    template = np.asarray(template, dtype=float)
    windows = sliding_window_view(image, template.shape)
    {score}
    row, col = np.unravel_index(np.argmin(score), score.shape)
    return {result}
'''
SSD = "score = ((windows - template) ** 2).sum(axis=(2, 3))"
RAW_CORRELATION = "score = -np.einsum('ijuv,uv->ij', windows, template)"

CIRCULAR = '''
def circular_corr2d(x, k):
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    rh, rw = (k.shape[0] - 1) // 2, (k.shape[1] - 1) // 2
    padded = np.pad(x, {pad}, mode="{mode}")
    return np.einsum("ijuv,uv->ij", sliding_window_view(padded, k.shape), {kernel})
'''

IM2COL = '''
def im2col(x, kh, kw):
    x = np.asarray(x, dtype=float)
    out_h, out_w = x.shape[0] - kh + {plus}, x.shape[1] - kw + {plus}
    rows = np.empty((out_h * out_w, kh * kw))
    for i in range(out_h):
        for j in range(out_w):
            rows[i * out_w + j] = x[i:i + kh, j:j + kw].ravel(order="{order}")
    return rows{transpose}
'''

WRONG = {
    "param_counts": [
        # no biases
        PARAM_COUNTS.format(dense="d_in * n_units",
                            conv="out_channels * in_channels * kernel_size**2"),
        # one shared bias for the dense layer; conv forgets the input channels
        PARAM_COUNTS.format(dense="d_in * n_units + 1",
                            conv="out_channels * kernel_size**2 + out_channels"),
        # dense ignores the channel axis; conv uses k instead of k*k
        PARAM_COUNTS.format(dense="(d_in // input_shape[0]) * n_units + n_units",
                            conv="out_channels * in_channels * kernel_size + out_channels"),
        # right values as floats, where the text asks for integers
        PARAM_COUNTS.format(dense="float(d_in * n_units + n_units)",
                            conv="math.pow(kernel_size, 2) * in_channels * out_channels"
                                 " + out_channels"),
    ],
    "corr2d": [
        CORR2D.format(plus=1, kernel="k[::-1, ::-1]"),  # true convolution (flipped kernel)
        CORR2D.format(plus=0, kernel="k"),  # off by one in the output size
        CORR2D.format(plus=1, kernel="k.T"),  # transposed kernel
    ],
    "conv_output_size": [
        CONV_OUTPUT_SIZE.format(formula="-(-(n + 2 * padding - k) // stride) + 1"),  # ceil
        CONV_OUTPUT_SIZE.format(formula="(n + padding - k) // stride + 1"),  # padding once
        CONV_OUTPUT_SIZE.format(formula="(n + 2 * padding - k) // stride"),  # missing + 1
        CONV_OUTPUT_SIZE.format(formula="(n + 2 * padding - k) / stride + 1"),  # a float
    ],
    "corr2d_general": [
        CORR2D_GENERAL.format(pad="((padding, 0), (padding, 0))", plus=1, kernel="k"),
        CORR2D_GENERAL.format(pad="padding", plus=0, kernel="k"),
        CORR2D_GENERAL.format(pad="padding", plus=1, kernel="k[::-1, ::-1]"),
    ],
    "final_size": [
        "final_size = 8  # pooling rounded up\n",
        "final_size = 15  # forgot the last pooling layer\n",
        "final_size = 7.5  # no floor\n",
        "final_size = 7.0  # the right size, but a float\n",
    ],
    "edge_kernels": [
        EDGE_KERNELS.format(vertical=SOBEL_Y, horizontal=SOBEL_X),  # swapped
        EDGE_KERNELS.format(vertical=LAPLACIAN, horizontal=LAPLACIAN),  # all orientations
        # only the positive side: responds to flat regions
        EDGE_KERNELS.format(vertical="[[0, 0, 1], [0, 0, 2], [0, 0, 1]]",
                            horizontal="[[0, 0, 0], [0, 0, 0], [1, 2, 1]]"),
    ],
    "locate_template": [
        LOCATE_TEMPLATE.format(score=RAW_CORRELATION, result="int(row), int(col)"),
        LOCATE_TEMPLATE.format(score=SSD, result="int(col), int(row)"),
        LOCATE_TEMPLATE.format(
            score=SSD,
            result="int(row) + template.shape[0] // 2, int(col) + template.shape[1] // 2"),
        LOCATE_TEMPLATE.format(score=SSD, result="float(row), float(col)"),  # floats
    ],
    "circular_corr2d": [
        CIRCULAR.format(pad="((rh, rh), (rw, rw))", mode="constant", kernel="k"),  # zero pad
        CIRCULAR.format(pad="((0, 2 * rh), (0, 2 * rw))", mode="wrap", kernel="k"),  # uncentred
        CIRCULAR.format(pad="((rh, rh), (rw, rw))", mode="wrap", kernel="k[::-1, ::-1]"),
    ],
    "equivariant_choice": [
        'equivariant_choice = "A"\n',
        'equivariant_choice = "C"\n',
        'equivariant_choice = "D"\n',
    ],
    "im2col": [
        IM2COL.format(plus=1, order="F", transpose=""),  # windows flattened column-major
        IM2COL.format(plus=1, order="C", transpose=".T"),  # transposed matrix
        IM2COL.format(plus=0, order="C", transpose=""),  # one window short per axis
    ],
}

ALTERNATIVE = {
    "param_counts": '''
def dense_param_count(input_shape, n_units):
    return int(np.prod(input_shape) + 1) * n_units


def conv_param_count(in_channels, out_channels, kernel_size):
    return (in_channels * kernel_size * kernel_size + 1) * out_channels
''',
    "corr2d": '''
def corr2d(x, k):
    k = np.asarray(k, dtype=float)
    return np.tensordot(sliding_window_view(np.asarray(x, dtype=float), k.shape), k, axes=2)
''',
    "conv_output_size": '''
def conv_output_size(n, k, stride=1, padding=0):
    return int(math.floor((n + 2 * padding - k) / stride)) + 1
''',
    "corr2d_general": '''
def corr2d_general(x, k, stride=1, padding=0):
    k = np.asarray(k, dtype=float)
    padded = np.pad(np.asarray(x, dtype=float), ((padding, padding), (padding, padding)))
    full = np.einsum("ijuv,uv->ij", sliding_window_view(padded, k.shape), k)
    return full[::stride, ::stride]
''',
    "final_size": '''
size = 64
for kernel, stride, pad in [(5, 1, 0), (2, 2, 0), (3, 2, 1), (2, 2, 0)]:
    size = conv_output_size(size, kernel, stride, pad)
final_size = size
''',
    "edge_kernels": '''
vertical_edge_kernel = np.array([[1.0, 0.0, -1.0]] * 3)  # Prewitt, opposite sign
horizontal_edge_kernel = np.array([[0.0, 0.0, 0.0], [0.0, -1.0, 0.0], [0.0, 1.0, 0.0]])
''',
    "locate_template": '''
def locate_template(image, template):
    image = np.asarray(image, dtype=float)
    template = np.asarray(template, dtype=float)
    windows = sliding_window_view(image, template.shape)
    centred = windows - windows.mean(axis=(2, 3), keepdims=True)
    t = template - template.mean()
    norms = np.sqrt((centred**2).sum(axis=(2, 3)) * (t**2).sum()) + 1e-12
    ncc = np.einsum("ijuv,uv->ij", centred, t) / norms
    best = np.argmax(ncc)
    return best // ncc.shape[1], best % ncc.shape[1]
''',
    "circular_corr2d": '''
def circular_corr2d(x, k):
    x = np.asarray(x, dtype=float)
    k = np.asarray(k, dtype=float)
    rh, rw = k.shape[0] // 2, k.shape[1] // 2
    out = np.zeros_like(x)
    for u in range(k.shape[0]):
        for v in range(k.shape[1]):
            out += k[u, v] * np.roll(x, (rh - u, rw - v), axis=(0, 1))
    return out
''',
    "equivariant_choice": 'equivariant_choice = "ABCD"[1]\n',
    "im2col": '''
def im2col(x, kh, kw):
    return sliding_window_view(np.asarray(x, dtype=float), (kh, kw)).reshape(-1, kh * kw)
''',
}


# Answers handed to nnlab's convolution module: the rule of Exercises 2, 4 and 11 is broken.
LIBRARY_CORR2D = '''
def corr2d(x, k):
    k = np.asarray(k, dtype=float)
    layer = Conv2D(1, 1, k.shape, np.random.default_rng(0))
    layer.params["W"][0, 0] = k
    layer.params["b"][...] = 0.0
    return layer.forward(np.asarray(x, dtype=float)[None, None])[0, 0]
'''
LIBRARY_IM2COL = '''
def im2col(x, kh, kw):
    from nnlab.layers.conv import windows

    x = np.asarray(x, dtype=float)
    out_h, out_w = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    return windows(x[None, None], kh, kw, 1, out_h, out_w).reshape(out_h * out_w, kh * kw)
'''

# Honest: a local variable named like the forbidden class.
NAMED_LIKE_THE_LIBRARY = '''
def corr2d(x, k):
    x = np.asarray(x, dtype=float)
    Conv2D = np.asarray(k, dtype=float)  # the kernel
    kh, kw = Conv2D.shape
    out = np.zeros((x.shape[0] - kh + 1, x.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = np.sum(x[i:i + kh, j:j + kw] * Conv2D)
    return out
'''

# Honest: a scratch cell after the answer that compares it with the library.
DEBUG_CELL = '''
x_try, k_try = np.arange(25.0).reshape(5, 5), np.eye(3)
layer = Conv2D(1, 1, 3, np.random.default_rng(0))
layer.params["W"][0, 0] = k_try
layer.params["b"][...] = 0.0
print("same as Conv2D:", np.allclose(corr2d(x_try, k_try), layer.forward(x_try[None, None])[0, 0]))
'''
RULE_PARTS = {"corr2d": ["corr2d_test"], "im2col": ["im2col_test", "im2col_test2"]}


# visible test cell -> a well-formed answer whose value is wrong
FORMAT_ONLY = {
    "final_size_test": "final_size = 8",
    "equivariant_choice_test": 'equivariant_choice = "A"',
}


class TestGradingValidity(GradingValidity, PartialCredit):
    assignment, wrong, alternative = ASSIGNMENT, WRONG, ALTERNATIVE
    format_only_tests = frozenset(FORMAT_ONLY)
    autograded_points = 17

    @pytest.fixture(scope="class")
    @classmethod
    def rule_variants(cls):
        solution_corr2d = CORR2D.format(plus=1, kernel="k")
        variants = {
            "library": variant(ASSIGNMENT, {"corr2d": LIBRARY_CORR2D, "im2col": LIBRARY_IM2COL}),
            "named_like_the_library": variant(ASSIGNMENT, {"corr2d": NAMED_LIKE_THE_LIBRARY}),
            "debug_cell": with_scratch_cell(variant(ASSIGNMENT, {"corr2d": solution_corr2d}),
                                            "corr2d", DEBUG_CELL),
        }
        results = grade_all(ASSIGNMENT, variants, workers=2)
        for name, result in results.items():
            assert result.status == "ok", (name, result.message)
        return results

    @pytest.mark.slow
    def test_calling_the_convolution_module_loses_only_those_exercises(self, rule_variants):
        cells = rule_variants["library"].cells
        ruled = [gid for parts in RULE_PARTS.values() for gid in parts]
        for gid in ruled:
            assert not cells[gid].passed and "nnlab.layers.conv" in cells[gid].message, (
                gid, cells[gid].message)
        others = {gid: c.message for gid, c in cells.items()
                  if gid not in ruled and not c.needs_manual and not c.passed}
        assert not others

    @pytest.mark.slow
    @pytest.mark.parametrize("name", ["named_like_the_library", "debug_cell"])
    def test_honest_notebooks_score_full_marks(self, rule_variants, name):
        assert_full_automatic_marks(rule_variants[name], 17)


@pytest.mark.parametrize("test_id", sorted(FORMAT_ONLY))
def test_a_visible_test_that_checks_only_the_form_says_so(test_id):
    assert_says_format_only(ASSIGNMENT, test_id, FORMAT_ONLY[test_id])


# Floats where the text asks for integers: the student sees it before submitting.
VISIBLE_CATCHES = {
    "param_counts": ("param_counts_test", WRONG["param_counts"][3]),
    "conv_param_count": ("param_counts_test2", WRONG["param_counts"][3]),
    "conv_output_size": ("conv_output_size_test", WRONG["conv_output_size"][3]),
    "final_size": ("final_size_test", WRONG["final_size"][3]),
    "locate_template": ("locate_template_test", WRONG["locate_template"][3]),
}


@pytest.mark.parametrize("case", sorted(VISIBLE_CATCHES))
def test_the_visible_test_rejects_a_float_where_an_integer_is_asked(case):
    test_id, answer = VISIBLE_CATCHES[case]
    with pytest.raises(AssertionError, match="must (be|return) (an integer|integers)"):
        visible_output(ASSIGNMENT, test_id, answer)


@pytest.mark.parametrize(("test_id", "answer"), [("corr2d_test", LIBRARY_CORR2D),
                                                 ("im2col_test", LIBRARY_IM2COL),
                                                 ("im2col_test2", LIBRARY_IM2COL)])
def test_the_visible_test_enforces_the_rule_before_submission(test_id, answer):
    with pytest.raises(AssertionError, match="nnlab.layers.conv"):
        visible_output(ASSIGNMENT, test_id, answer)

# ------------------------------------------------- an answer that ignores the kernel entirely

IDENTITY_CORRELATION = '''
def circular_corr2d(x, k):
    return np.array(x, dtype=float, copy=True)
'''


@pytest.mark.slow
def test_returning_the_input_earns_no_equivariance_point():
    """Returning x is shift-equivariant (every map that ignores k is), and once got the point
    of circular_corr2d_test2; that test must also require the correlation itself."""
    results = grade_all(ASSIGNMENT, {"identity": variant(
        ASSIGNMENT, {"circular_corr2d": IDENTITY_CORRELATION})}, workers=1)
    cells = {c.grade_id: c for c in cells_for(results["identity"], "circular_corr2d")}
    assert results["identity"].status == "ok"
    assert not cells["circular_corr2d_test2"].passed
    assert not cells["circular_corr2d_test"].passed
