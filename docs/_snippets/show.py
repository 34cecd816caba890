# Page helper (not part of the library): embed a Matplotlib figure in the page as a PNG.
import base64
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def show(fig, alt="figure"):
    """Print ``fig`` as an inline <img> (the block must have html="1")."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    print(f'<img alt="{alt}" src="data:image/png;base64,{data}" />')
