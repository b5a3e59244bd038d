/*
 * cchc: the Great Expectations Data Docs read without internet.
 *
 * The Data Docs pages load bootstrap-table (and its filter-control extension, the datepicker and
 * Vega) from public CDNs; where the committee's network has no internet the index page showed its
 * "Clear Filters" buttons and nothing else. This script stands in for what the pages use of them:
 * $(table).bootstrapTable({columns, data, sortName, sortOrder, search, toolbar, rowStyle,
 * rowAttributes}) draws the table (sortable by its headers, with a search box), fires
 * "click-row.bs.table" on a click, and accepts the methods the pages call ('clearFilterControl',
 * 'resetSearch'). vegaEmbed says that a chart needs the Vega library instead of failing.
 * Cells hold the HTML Great Expectations rendered (as bootstrap-table shows them); titles are text.
 */
(function ($) {
  "use strict";
  if (!$) {
    return;
  }

  function named(value) {
    if (typeof value === "function") {
      return value;
    }
    return typeof value === "string" && typeof window[value] === "function" ? window[value] : null;
  }

  function truthy(value) {
    return value === true || value === "true";
  }

  function sortKey(columns, name) {
    for (var i = 0; i < columns.length; i++) {
      if (columns[i].field === name) {
        return columns[i].sortName || columns[i].field;
      }
    }
    return name;
  }

  function compare(a, b) {
    if (a === b) {
      return 0;
    }
    if (a === undefined || a === null) {
      return -1;
    }
    if (b === undefined || b === null) {
      return 1;
    }
    if (typeof a === "number" && typeof b === "number") {
      return a < b ? -1 : 1;
    }
    return String(a).localeCompare(String(b), "vi");
  }

  function draw($table, options, state) {
    var columns = state.columns;
    var rows = options.data.slice();
    if (state.sortKey) {
      rows.sort(function (a, b) {
        return state.order * compare(a[state.sortKey], b[state.sortKey]);
      });
    }
    var needle = (state.search || "").toLowerCase();
    var rowStyle = named(options.rowStyle);
    var rowAttributes = named(options.rowAttributes);
    var $head = $("<tr></tr>");
    columns.forEach(function (column) {
      var $th = $("<th></th>").text(column.title || column.field || "");
      if (column.align) {
        $th.css("text-align", column.align);
      }
      if (truthy(column.sortable)) {
        var key = column.sortName || column.field;
        $th.addClass("cchc-sortable");
        if (key === state.sortKey) {
          $th.addClass(state.order < 0 ? "cchc-desc" : "cchc-asc");
        }
        $th.on("click", function () {
          state.order = key === state.sortKey ? -state.order : 1;
          state.sortKey = key;
          draw($table, options, state);
        });
      }
      $head.append($th);
    });
    var $body = $("<tbody></tbody>");
    rows.forEach(function (row, index) {
      var $tr = $("<tr></tr>");
      columns.forEach(function (column) {
        var $td = $("<td></td>").html(row[column.field] === undefined ? "" : String(row[column.field]));
        if (column.align) {
          $td.css("text-align", column.align);
        }
        $tr.append($td);
      });
      if (needle && $tr.text().toLowerCase().indexOf(needle) < 0) {
        return;
      }
      if (rowStyle) {
        var style = rowStyle(row, index) || {};
        if (style.css) {
          $tr.css(style.css);
        }
        if (style.classes) {
          $tr.addClass(style.classes);
        }
      }
      if (rowAttributes) {
        $tr.attr(rowAttributes(row, index) || {});
      }
      $tr.on("click", function () {
        $table.trigger("click-row.bs.table", [row, $tr]);
      });
      $body.append($tr);
    });
    $table.empty().append($("<thead></thead>").append($head)).append($body);
  }

  $.fn.bootstrapTable = function (options) {
    if (typeof options === "string") {
      // 'clearFilterControl', 'resetSearch': the only filter here is the search box.
      return this.each(function () {
        var state = $(this).data("cchcTable");
        if (state) {
          state.search = "";
          if (state.$search) {
            state.$search.val("");
          }
          draw($(this), state.options, state);
        }
      });
    }
    options = $.extend({ data: [], columns: [] }, options || {});
    return this.each(function () {
      var $table = $(this).addClass("table table-hover");
      var state = {
        options: options,
        columns: options.columns.filter(function (c) {
          return c.visible !== false && c.visible !== "false";
        }),
        sortKey: options.sortName ? sortKey(options.columns, options.sortName) : null,
        order: options.sortOrder === "desc" ? -1 : 1,
        search: "",
        $search: null
      };
      if (truthy(options.search)) {
        state.$search = $('<input type="search" class="form-control form-control-sm cchc-search">')
          .attr("placeholder", "Tìm")
          .on("input", function () {
            state.search = $(this).val();
            draw($table, options, state);
          });
        var $toolbar = options.toolbar ? $(options.toolbar) : $();
        if ($toolbar.length) {
          $toolbar.prepend(state.$search);
        } else {
          $table.before(state.$search);
        }
      }
      $table.data("cchcTable", state);
      draw($table, options, state);
    });
  };
})(window.jQuery);

window.vegaEmbed = function (element) {
  "use strict";
  var target = typeof element === "string" ? document.querySelector(element) : element;
  if (target) {
    target.textContent = "Biểu đồ này cần thư viện Vega, không có sẵn khi không có kết nối Internet.";
  }
  return Promise.resolve();
};
