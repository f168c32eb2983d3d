"""The first page after sign-in: charts of the assistant's activity over a date range."""
from flask import Blueprint, render_template, request

from console import params
from console.charts import overview_charts
from console.services import services

blueprint = Blueprint("overview", __name__)


@blueprint.route("/")
def index():
    dates = params.date_range(request.args, required=True)
    activity = services().tracker.activity(*dates.epoch_bounds())
    return render_template("overview.html", dates=dates, charts=overview_charts(activity, dates))
